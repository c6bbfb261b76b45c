"""The four providers: where to send people, and how each one reports who they are.

Every provider is off until its client id and secret are configured. Endpoint URLs come from
settings so a proxy (or a test double) can stand in for the real provider."""

from __future__ import annotations

import hashlib
import hmac
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

import jwt
from authlib.integrations.httpx_client import AsyncOAuth2Client

from gptapi.config import Settings

HTTP_TIMEOUT = 10.0


class ProviderError(Exception):
    """The provider refused, was unreachable, or answered something we cannot trust."""


@dataclass(frozen=True)
class ProviderProfile:
    provider_user_id: str
    email: str | None
    # True only when the provider itself vouches that the person controls the address.
    email_verified: bool
    name: str


@dataclass(frozen=True)
class Endpoints:
    authorize_url: str
    token_url: str


class OAuthProvider(ABC):
    name: ClassVar[str]
    scope: ClassVar[str]

    def __init__(self, client_id: str, client_secret: str) -> None:
        self.client_id = client_id
        self.client_secret = client_secret

    def client(self, redirect_uri: str) -> AsyncOAuth2Client:
        return AsyncOAuth2Client(
            client_id=self.client_id,
            client_secret=self.client_secret,
            scope=self.scope,
            redirect_uri=redirect_uri,
            code_challenge_method="S256",
            token_endpoint_auth_method="client_secret_post",
            timeout=HTTP_TIMEOUT,
        )

    @abstractmethod
    async def endpoints(self, client: AsyncOAuth2Client) -> Endpoints: ...

    def authorize_params(self, nonce: str) -> dict[str, str]:
        return {}

    @abstractmethod
    async def profile(
        self, client: AsyncOAuth2Client, token: dict[str, Any], nonce: str
    ) -> ProviderProfile: ...


async def _get_json(client: AsyncOAuth2Client, url: str, **kwargs: Any) -> Any:
    response = await client.request("GET", url, **kwargs)
    if response.status_code != 200:
        raise ProviderError(f"{url} answered {response.status_code}")
    return response.json()


class Google(OAuthProvider):
    """OpenID Connect: endpoints from discovery, identity from the signed id_token."""

    name = "google"
    scope = "openid email profile"

    def __init__(self, client_id: str, client_secret: str, discovery_url: str) -> None:
        super().__init__(client_id, client_secret)
        self.discovery_url = discovery_url

    async def _discovery(self, client: AsyncOAuth2Client) -> dict[str, Any]:
        # Public documents: fetched before (or without) the access token.
        document: dict[str, Any] = await _get_json(client, self.discovery_url, withhold_token=True)
        return document

    async def endpoints(self, client: AsyncOAuth2Client) -> Endpoints:
        document = await self._discovery(client)
        return Endpoints(document["authorization_endpoint"], document["token_endpoint"])

    def authorize_params(self, nonce: str) -> dict[str, str]:
        return {"nonce": nonce, "prompt": "select_account"}

    async def profile(
        self, client: AsyncOAuth2Client, token: dict[str, Any], nonce: str
    ) -> ProviderProfile:
        id_token = token.get("id_token")
        if not isinstance(id_token, str):
            raise ProviderError("no id_token in the token response")
        document = await self._discovery(client)
        keys = jwt.PyJWKSet.from_dict(
            await _get_json(client, document["jwks_uri"], withhold_token=True)
        )
        try:
            kid = jwt.get_unverified_header(id_token).get("kid")
            key = next(k for k in keys.keys if k.key_id == kid)
            claims = jwt.decode(
                id_token,
                key,
                algorithms=["RS256"],
                audience=self.client_id,
                # Google signs with either form of its issuer.
                issuer=[document["issuer"], document["issuer"].removeprefix("https://")],
                options={"require": ["exp", "iat", "sub"]},
            )
        except (StopIteration, jwt.PyJWTError) as exc:
            raise ProviderError(f"id_token rejected: {exc}") from None
        if not hmac.compare_digest(str(claims.get("nonce", "")), nonce):
            raise ProviderError("id_token nonce does not match")
        return ProviderProfile(
            provider_user_id=str(claims["sub"]),
            email=claims.get("email"),
            email_verified=claims.get("email_verified") is True,
            name=str(claims.get("name", "")),
        )


class ConfiguredProvider(OAuthProvider):
    """Plain OAuth 2.0: fixed authorize and token URLs, and one API base or URL that says who
    the person is."""

    def __init__(
        self, client_id: str, client_secret: str, authorize_url: str, token_url: str, api_url: str
    ) -> None:
        super().__init__(client_id, client_secret)
        self._endpoints = Endpoints(authorize_url, token_url)
        self.api_url = api_url

    async def endpoints(self, client: AsyncOAuth2Client) -> Endpoints:
        return self._endpoints

    def api(self, path: str) -> str:
        return f"{self.api_url.rstrip('/')}{path}"


class GitHub(ConfiguredProvider):
    name = "github"
    scope = "read:user user:email"

    async def profile(
        self, client: AsyncOAuth2Client, token: dict[str, Any], nonce: str
    ) -> ProviderProfile:
        headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
        user = await _get_json(client, self.api("/user"), headers=headers)
        # The profile's public email may be unverified or absent; the emails list says which
        # address is primary and verified.
        emails = await _get_json(client, self.api("/user/emails"), headers=headers)
        primary = next((e for e in emails if e.get("primary")), None)
        return ProviderProfile(
            provider_user_id=str(user["id"]),
            email=primary["email"] if primary else None,
            email_verified=bool(primary and primary.get("verified") is True),
            name=str(user.get("name") or user.get("login") or ""),
        )


class Facebook(ConfiguredProvider):
    name = "facebook"
    scope = "email public_profile"

    async def profile(
        self, client: AsyncOAuth2Client, token: dict[str, Any], nonce: str
    ) -> ProviderProfile:
        # appsecret_proof keeps a leaked access token useless without the app secret.
        proof = hmac.new(
            self.client_secret.encode(), str(token["access_token"]).encode(), hashlib.sha256
        ).hexdigest()
        me = await _get_json(
            client,
            self.api("/me"),
            params={"fields": "id,name,email", "appsecret_proof": proof},
        )
        email = me.get("email")
        return ProviderProfile(
            provider_user_id=str(me["id"]),
            email=email,
            # Graph returns an address only once the person has confirmed it (Supabase Auth
            # relies on the same rule).
            email_verified=bool(email),
            name=str(me.get("name", "")),
        )


class Indeed(ConfiguredProvider):
    name = "indeed"
    scope = "email"

    async def profile(
        self, client: AsyncOAuth2Client, token: dict[str, Any], nonce: str
    ) -> ProviderProfile:
        info = await _get_json(client, self.api_url)
        return ProviderProfile(
            provider_user_id=str(info["sub"]),
            email=info.get("email"),
            email_verified=info.get("email_verified") is True,
            name="",
        )


def configured_providers(settings: Settings) -> dict[str, OAuthProvider]:
    """The providers people may sign in with; none when Supabase owns sign-in."""
    if settings.auth_provider != "local":
        return {}
    s = settings
    candidates: list[OAuthProvider] = [
        Google(s.google_client_id, s.google_client_secret, s.google_discovery_url),
        GitHub(
            s.github_client_id,
            s.github_client_secret,
            s.github_authorize_url,
            s.github_token_url,
            s.github_api_url,
        ),
        Facebook(
            s.facebook_client_id,
            s.facebook_client_secret,
            s.facebook_authorize_url,
            s.facebook_token_url,
            s.facebook_graph_url,
        ),
        Indeed(
            s.indeed_client_id,
            s.indeed_client_secret,
            s.indeed_authorize_url,
            s.indeed_token_url,
            s.indeed_userinfo_url,
        ),
    ]
    return {p.name: p for p in candidates if p.client_id and p.client_secret}
