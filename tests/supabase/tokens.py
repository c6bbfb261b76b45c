"""Access tokens shaped like Supabase Auth's, and its JWKS endpoint on loopback."""

from __future__ import annotations

import secrets
import time
import uuid
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.support.threads import LoopbackDouble

JWT_SECRET = "super-secret-jwt-token-with-at-least-32-characters-long"


class SupabaseProject(LoopbackDouble):
    """Serves /auth/v1/.well-known/jwks.json with the public halves of `keys` (HMAC keys are
    never published, as in supabase/auth) and counts how often it is asked."""

    def __init__(self) -> None:
        self.keys: dict[str, tuple[str, Any]] = {}
        self.fetches = 0
        super().__init__(Starlette(routes=[Route("/auth/v1/.well-known/jwks.json", self._jwks)]))

    @property
    def issuer(self) -> str:
        return f"{self.url}/auth/v1"

    def new_key(self, algorithm: str) -> str:
        kid = secrets.token_hex(6)
        private: Any = (
            rsa.generate_private_key(public_exponent=65537, key_size=2048)
            if algorithm == "RS256"
            else ec.generate_private_key(ec.SECP256R1())
        )
        self.keys[kid] = (algorithm, private)
        return kid

    async def _jwks(self, request: Request) -> Response:
        self.fetches += 1
        published = []
        for kid, (algorithm, private) in self.keys.items():
            codec = (
                jwt.algorithms.RSAAlgorithm if algorithm == "RS256" else jwt.algorithms.ECAlgorithm
            )
            jwk = codec.to_jwk(private.public_key(), as_dict=True)
            jwk.update({"kid": kid, "alg": algorithm, "use": "sig", "key_ops": ["verify"]})
            published.append(jwk)
        return JSONResponse({"keys": published}, headers={"Cache-Control": "public, max-age=600"})

    def claims(self, user_id: uuid.UUID, email: str, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": str(user_id),
            "aud": "authenticated",
            "exp": now + 3600,
            "iat": now,
            "email": email,
            "phone": "",
            "app_metadata": {"provider": "email", "providers": ["email"]},
            "user_metadata": {"email": email, "email_verified": True},
            "role": "authenticated",
            "aal": "aal1",
            "amr": [{"method": "password", "timestamp": now - 60}],
            "session_id": str(uuid.uuid4()),
            "is_anonymous": False,
        }
        claims.update(overrides)
        return claims

    def hs256(self, claims: dict[str, Any], secret: str = JWT_SECRET) -> str:
        return jwt.encode(claims, secret, algorithm="HS256", headers={"typ": "JWT"})

    def signed(self, kid: str, claims: dict[str, Any]) -> str:
        algorithm, private = self.keys[kid]
        return jwt.encode(claims, private, algorithm=algorithm, headers={"kid": kid, "typ": "JWT"})
