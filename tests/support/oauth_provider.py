"""A stand-in for Google, GitHub, Facebook and Indeed on loopback, speaking their wire formats:
authorization code + PKCE (S256), client_secret_post/basic, Google's OIDC discovery, JWKS and
RS256 id_tokens, GitHub's /user and /user/emails, Facebook Graph /me with appsecret_proof,
and Indeed's userinfo. Authorisation is approved at once as `person`, unless `deny` is set."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from tests.support.threads import LoopbackDouble

CLIENT_ID = "double-client-id"
CLIENT_SECRET = "double-client-secret"
PROVIDERS = ("google", "github", "facebook", "indeed")


@dataclass
class Person:
    sub: str = field(default_factory=lambda: str(secrets.randbelow(10**12)))
    email: str | None = field(default_factory=lambda: f"p{secrets.token_hex(5)}@example.com")
    email_verified: bool = True
    name: str = "Pat Doe"


@dataclass
class _Grant:
    provider: str
    redirect_uri: str
    code_challenge: str
    nonce: str | None
    person: Person


class OAuthProviderDouble(LoopbackDouble):
    def __init__(self) -> None:
        self.person = Person()
        self.deny = False
        # Claims to overwrite in the next id_tokens, to play a misbehaving or forged issuer.
        self.id_token_overrides: dict[str, Any] = {}
        self._codes: dict[str, _Grant] = {}
        self._tokens: dict[str, tuple[str, Person]] = {}
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._kid = secrets.token_hex(8)
        super().__init__(self._app())

    def settings(self, providers: tuple[str, ...] = PROVIDERS) -> dict[str, str]:
        """Settings overrides that point the enabled providers here."""
        u = self.url
        endpoints = {
            "google": {"google_discovery_url": f"{u}/google/.well-known/openid-configuration"},
            "github": {
                "github_authorize_url": f"{u}/github/login/oauth/authorize",
                "github_token_url": f"{u}/github/login/oauth/access_token",
                "github_api_url": f"{u}/github/api",
            },
            "facebook": {
                "facebook_authorize_url": f"{u}/facebook/dialog/oauth",
                "facebook_token_url": f"{u}/facebook/graph/oauth/access_token",
                "facebook_graph_url": f"{u}/facebook/graph",
            },
            "indeed": {
                "indeed_authorize_url": f"{u}/indeed/oauth/v2/authorize",
                "indeed_token_url": f"{u}/indeed/oauth/v2/tokens",
                "indeed_userinfo_url": f"{u}/indeed/v2/api/userinfo",
            },
        }
        values: dict[str, str] = {}
        for name in providers:
            values[f"{name}_client_id"] = CLIENT_ID
            values[f"{name}_client_secret"] = CLIENT_SECRET
            values.update(endpoints[name])
        return values

    # -- the provider
    def _app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/google/.well-known/openid-configuration", self._discovery),
                Route("/google/jwks", self._jwks),
                Route("/google/o/oauth2/v2/auth", self._authorize),
                Route("/google/token", self._token, methods=["POST"]),
                Route("/github/login/oauth/authorize", self._authorize),
                Route("/github/login/oauth/access_token", self._token, methods=["POST"]),
                Route("/github/api/user", self._github_user),
                Route("/github/api/user/emails", self._github_emails),
                Route("/facebook/dialog/oauth", self._authorize),
                Route("/facebook/graph/oauth/access_token", self._token, methods=["POST"]),
                Route("/facebook/graph/me", self._facebook_me),
                Route("/indeed/oauth/v2/authorize", self._authorize),
                Route("/indeed/oauth/v2/tokens", self._token, methods=["POST"]),
                Route("/indeed/v2/api/userinfo", self._indeed_userinfo),
            ]
        )

    @staticmethod
    def _provider(request: Request) -> str:
        return request.url.path.split("/")[1]

    async def _discovery(self, request: Request) -> Response:
        base = f"{self.url}/google"
        return JSONResponse(
            {
                "issuer": base,
                "authorization_endpoint": f"{base}/o/oauth2/v2/auth",
                "token_endpoint": f"{base}/token",
                "jwks_uri": f"{base}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["plain", "S256"],
            }
        )

    async def _jwks(self, request: Request) -> Response:
        jwk = jwt.algorithms.RSAAlgorithm.to_jwk(self._key.public_key(), as_dict=True)
        jwk.update({"kid": self._kid, "alg": "RS256", "use": "sig"})
        return JSONResponse({"keys": [jwk]})

    async def _authorize(self, request: Request) -> Response:
        q = request.query_params
        redirect_uri = q.get("redirect_uri", "")
        if q.get("client_id") != CLIENT_ID or not redirect_uri:
            return PlainTextResponse("invalid client or redirect_uri", status_code=400)
        if q.get("response_type") != "code" or q.get("code_challenge_method") != "S256":
            return PlainTextResponse("unsupported response_type or PKCE method", status_code=400)
        state = q.get("state", "")
        if self.deny:
            query = urlencode(
                {"error": "access_denied", "error_description": "denied", "state": state}
            )
            return RedirectResponse(f"{redirect_uri}?{query}", 302)
        code = secrets.token_urlsafe(24)
        self._codes[code] = _Grant(
            self._provider(request),
            redirect_uri,
            q.get("code_challenge", ""),
            q.get("nonce"),
            self.person,
        )
        return RedirectResponse(f"{redirect_uri}?{urlencode({'code': code, 'state': state})}", 302)

    async def _token(self, request: Request) -> Response:
        provider = self._provider(request)
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        basic = request.headers.get("authorization", "")
        if basic.lower().startswith("basic "):
            client_id, _, client_secret = base64.b64decode(basic[6:]).decode().partition(":")
        if client_id != CLIENT_ID or client_secret != CLIENT_SECRET:
            return self._token_error(provider, "invalid_client", 401)
        grant = self._codes.pop(str(form.get("code", "")), None)
        verifier = str(form.get("code_verifier", ""))
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
        if (
            form.get("grant_type") != "authorization_code"
            or grant is None
            or grant.provider != provider
            or grant.redirect_uri != form.get("redirect_uri")
            or not hmac.compare_digest(challenge.rstrip(b"=").decode(), grant.code_challenge)
        ):
            return self._token_error(provider, "invalid_grant", 400)
        access_token = secrets.token_urlsafe(24)
        self._tokens[access_token] = (provider, grant.person)
        body: dict[str, Any] = {
            "access_token": access_token,
            "token_type": "bearer" if provider == "github" else "Bearer",
            "expires_in": 3599,
        }
        if provider == "google":
            body["id_token"] = self._id_token(grant)
        return JSONResponse(body)

    @staticmethod
    def _token_error(provider: str, error: str, status: int) -> Response:
        # GitHub reports token errors with 200 OK and an `error` member.
        return JSONResponse({"error": error}, status_code=200 if provider == "github" else status)

    def _id_token(self, grant: _Grant) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": f"{self.url}/google",
            "aud": CLIENT_ID,
            "azp": CLIENT_ID,
            "sub": grant.person.sub,
            "email": grant.person.email,
            "email_verified": grant.person.email_verified,
            "name": grant.person.name,
            "iat": now,
            "exp": now + 3600,
        }
        if grant.nonce is not None:
            claims["nonce"] = grant.nonce
        claims.update(self.id_token_overrides)
        return jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": self._kid})

    def _bearer(self, request: Request, provider: str) -> Person | None:
        header = request.headers.get("authorization", "")
        token = header.split(" ", 1)[1] if " " in header else ""
        found = self._tokens.get(token)
        return found[1] if found and found[0] == provider else None

    async def _github_user(self, request: Request) -> Response:
        person = self._bearer(request, "github")
        if person is None:
            return JSONResponse({"message": "Bad credentials"}, status_code=401)
        return JSONResponse(
            {
                "id": int(person.sub),
                "login": f"user{person.sub}",
                "name": person.name,
                "email": None,
            }
        )

    async def _github_emails(self, request: Request) -> Response:
        person = self._bearer(request, "github")
        if person is None:
            return JSONResponse({"message": "Bad credentials"}, status_code=401)
        emails = [
            {
                "email": f"{person.sub}+user@users.noreply.github.com",
                "primary": False,
                "verified": True,
                "visibility": None,
            },
        ]
        if person.email:
            emails.insert(
                0,
                {
                    "email": person.email,
                    "primary": True,
                    "verified": person.email_verified,
                    "visibility": "private",
                },
            )
        return JSONResponse(emails)

    async def _facebook_me(self, request: Request) -> Response:
        person = self._bearer(request, "facebook")
        header = request.headers.get("authorization", "")
        token = header.split(" ", 1)[1] if " " in header else ""
        expected = hmac.new(CLIENT_SECRET.encode(), token.encode(), hashlib.sha256).hexdigest()
        if person is None or request.query_params.get("appsecret_proof") != expected:
            error = {"message": "Invalid OAuth access token", "type": "OAuthException", "code": 190}
            return JSONResponse({"error": error}, status_code=400)
        fields = request.query_params.get("fields", "id").split(",")
        me: dict[str, Any] = {"id": person.sub, "name": person.name}
        # Graph leaves out an address the person has not confirmed.
        if "email" in fields and person.email and person.email_verified:
            me["email"] = person.email
        return JSONResponse({k: v for k, v in me.items() if k in fields})

    async def _indeed_userinfo(self, request: Request) -> Response:
        person = self._bearer(request, "indeed")
        if person is None:
            return JSONResponse({"error": "invalid_token"}, status_code=401)
        return JSONResponse(
            {"sub": person.sub, "email": person.email, "email_verified": person.email_verified}
        )
