"""API key secrets: high entropy, shown once, stored only as a SHA-256 digest.

A slow password hash is unnecessary for 256-bit random secrets and would cost the gateway
milliseconds per request; a plain digest keeps lookup O(1) and leaks nothing useful.
"""

from __future__ import annotations

import hashlib
import secrets

KEY_PREFIX = "gpt_live_"
# Test-mode keys: served exactly like live ones, never charged.
TEST_KEY_PREFIX = "gpt_test_"
# Deployment keys: inference on one deployment only, safe to hand to that deployment's clients.
DEPLOYMENT_KEY_PREFIX = "sk_dep_"
_SECRET_BYTES = 32
DISPLAY_CHARS = 12  # "gpt_live_" plus the first characters of the secret, kept for display


def generate_api_key(*, test_mode: bool = False) -> str:
    return (TEST_KEY_PREFIX if test_mode else KEY_PREFIX) + secrets.token_urlsafe(_SECRET_BYTES)


def generate_deployment_key() -> str:
    return DEPLOYMENT_KEY_PREFIX + secrets.token_urlsafe(_SECRET_BYTES)


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()


def display_prefix(key: str) -> str:
    return key[: len(KEY_PREFIX) + DISPLAY_CHARS]


def looks_like_api_key(token: str) -> bool:
    prefixes = (KEY_PREFIX, TEST_KEY_PREFIX, DEPLOYMENT_KEY_PREFIX)
    return token.startswith(prefixes) and 30 <= len(token) <= 128
