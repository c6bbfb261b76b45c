"""Signed one-click unsubscribe tokens: `<user id>.<category>.<signature>`.

They work without signing in (RFC 8058), so the signature is all that stands behind them; it
is an HMAC under a key derived from SECRET_KEY for this purpose alone, and names exactly one
person and one kind of mail."""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from dataclasses import dataclass


@dataclass(frozen=True)
class Unsubscribe:
    user_id: uuid.UUID
    category: str


class UnsubscribeTokens:
    def __init__(self, secret_key: bytes) -> None:
        self._key = hmac.new(secret_key, b"gptapi unsubscribe", hashlib.sha256).digest()

    def _sign(self, user_id: uuid.UUID, category: str) -> str:
        digest = hmac.new(self._key, f"{user_id}:{category}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:18]).decode().rstrip("=")

    def make(self, user_id: uuid.UUID, category: str) -> str:
        return f"{user_id.hex}.{category}.{self._sign(user_id, category)}"

    def read(self, token: str) -> Unsubscribe | None:
        """The person and category a token names, or None for one we did not sign."""
        parts = token.split(".")
        if len(parts) != 3:
            return None
        raw_id, category, signature = parts
        try:
            user_id = uuid.UUID(hex=raw_id)
        except ValueError:
            return None
        if not hmac.compare_digest(signature, self._sign(user_id, category)):
            return None
        return Unsubscribe(user_id, category)
