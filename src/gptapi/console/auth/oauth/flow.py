"""The round trip through the provider: state, PKCE verifier and nonce live in a short-lived
cookie signed with SECRET_KEY, so a callback is accepted only in the browser that started it."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import jwt
from authlib.common.security import generate_token
from fastapi import Response

from gptapi.config import Settings

FLOW_COOKIE = "gptapi_oauth"
FLOW_COOKIE_PATH = "/api/auth/oauth/"
FLOW_LIFETIME = timedelta(minutes=10)
_AUDIENCE = "gptapi:oauth-flow"


@dataclass(frozen=True)
class Flow:
    provider: str
    state: str
    code_verifier: str
    nonce: str
    next_path: str

    @classmethod
    def begin(cls, provider: str, next_path: str) -> Flow:
        return cls(provider, generate_token(32), generate_token(64), generate_token(32), next_path)


def safe_next(candidate: str | None) -> str:
    """Only a path on this site: anything with a scheme, a host, or a leading `//` or `\\`
    could send the person elsewhere after signing in."""
    if not candidate or not candidate.startswith("/") or candidate.startswith(("//", "/\\")):
        return "/"
    parts = urlsplit(candidate)
    if parts.scheme or parts.netloc or any(ord(c) < 0x20 for c in candidate):
        return "/"
    return candidate


def set_flow_cookie(
    response: Response, flow: Flow, secret_key: bytes, settings: Settings, now: datetime
) -> None:
    value = jwt.encode(
        {
            "aud": _AUDIENCE,
            "exp": now + FLOW_LIFETIME,
            "p": flow.provider,
            "s": flow.state,
            "v": flow.code_verifier,
            "n": flow.nonce,
            "next": flow.next_path,
        },
        secret_key,
        algorithm="HS256",
    )
    response.set_cookie(
        FLOW_COOKIE,
        value,
        max_age=int(FLOW_LIFETIME.total_seconds()),
        path=FLOW_COOKIE_PATH,
        httponly=True,
        secure=settings.base_url.startswith("https://"),
        # Lax: the provider sends the browser back with a top-level GET, which carries it.
        samesite="lax",
    )


def clear_flow_cookie(response: Response) -> None:
    response.delete_cookie(FLOW_COOKIE, path=FLOW_COOKIE_PATH)


def read_flow(
    cookie: str | None, secret_key: bytes, provider: str, state: str | None, now: datetime
) -> Flow | None:
    """The flow this callback belongs to, or None when the cookie is missing, forged, expired,
    for another provider, or its state differs from the one the provider echoed."""
    if not cookie or not state:
        return None
    try:
        claims = jwt.decode(
            cookie,
            secret_key,
            algorithms=["HS256"],
            audience=_AUDIENCE,
            # Expiry is judged by the platform clock, the one that stamped it.
            options={"require": ["exp"], "verify_exp": False},
        )
    except jwt.PyJWTError:
        return None
    if claims["exp"] <= now.timestamp() or claims.get("p") != provider:
        return None
    if not hmac.compare_digest(str(claims.get("s")), state):
        return None
    return Flow(provider, claims["s"], claims["v"], claims["n"], safe_next(claims.get("next")))
