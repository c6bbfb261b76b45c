"""Secrets the platform has to read back, such as webhook signing keys: encrypted at rest with
Fernet under a key derived from SECRET_KEY for one purpose, so a leaked database dump does not
let anyone sign messages customers would trust."""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


class Sealer:
    def __init__(self, secret_key: bytes, purpose: str) -> None:
        key = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=f"gptapi {purpose}".encode()
        ).derive(secret_key)
        self._fernet = Fernet(base64.urlsafe_b64encode(key))

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode()

    def open(self, sealed: str) -> str:
        """Raises cryptography.fernet.InvalidToken if SECRET_KEY changed since sealing."""
        return self._fernet.decrypt(sealed.encode()).decode()
