"""/api/auth/oauth/{provider}/authorize and /callback, and the signed-in person's identities."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from urllib.parse import urlencode

import httpx2
from authlib.integrations.base_client import OAuthError
from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import BaseModel

from gptapi.console.auth import tokens, two_factor
from gptapi.console.auth.oauth import service
from gptapi.console.auth.oauth.flow import (
    FLOW_COOKIE,
    Flow,
    clear_flow_cookie,
    read_flow,
    safe_next,
    set_flow_cookie,
)
from gptapi.console.auth.oauth.providers import (
    OAuthProvider,
    ProviderError,
    ProviderProfile,
    configured_providers,
)
from gptapi.console.auth.oauth.service import Refusal, SignInRefused
from gptapi.console.auth.sessions import client_ip, start_session
from gptapi.console.auth.welcome import grant_signup_credit
from gptapi.console.deps import CurrentViewer, DbSession, OptionalViewer, State
from gptapi.console.errors import not_found
from gptapi.console.state import ConsoleState
from gptapi.models import OAuthIdentity

router = APIRouter(prefix="/auth", tags=["auth"])

# The console's sign-in page: refusals land there as `?error=<code>`, and a second-factor
# challenge for POST /api/auth/signin/2fa as `#mfa_challenge=<token>` (a fragment, so it
# never reaches a server log).
SIGN_IN_PAGE = "/signin"


def _provider(state: ConsoleState, name: str) -> OAuthProvider:
    provider = configured_providers(state.settings).get(name)
    if provider is None:
        raise not_found("provider")
    return provider


def _redirect_uri(state: ConsoleState, name: str) -> str:
    return f"{state.settings.base_url}/api/auth/oauth/{name}/callback"


def _refused(reason: Refusal) -> RedirectResponse:
    response = RedirectResponse(f"{SIGN_IN_PAGE}?{urlencode({'error': reason.value})}", 302)
    clear_flow_cookie(response)
    return response


@router.get(
    "/oauth/{provider}/authorize",
    summary="Start signing in with a provider",
    response_class=RedirectResponse,
    status_code=302,
)
async def authorize(
    provider: str,
    state: State,
    next_path: Annotated[str | None, Query(alias="next")] = None,
) -> Response:
    chosen = _provider(state, provider)
    flow = Flow.begin(chosen.name, safe_next(next_path))
    try:
        async with chosen.client(_redirect_uri(state, chosen.name)) as client:
            endpoints = await chosen.endpoints(client)
            url, _ = client.create_authorization_url(
                endpoints.authorize_url,
                state=flow.state,
                code_verifier=flow.code_verifier,
                **chosen.authorize_params(flow.nonce),
            )
    except (OAuthError, ProviderError, httpx2.HTTPError, KeyError, ValueError):
        return _refused(Refusal.PROVIDER_ERROR)
    response = RedirectResponse(url, 302)
    set_flow_cookie(response, flow, state.secret_key, state.settings, state.clock.now())
    return response


async def _exchange(
    provider: OAuthProvider, redirect_uri: str, flow: Flow, code: str
) -> ProviderProfile:
    try:
        async with provider.client(redirect_uri) as client:
            endpoints = await provider.endpoints(client)
            token = await client.fetch_token(
                endpoints.token_url, code=code, code_verifier=flow.code_verifier
            )
            return await provider.profile(client, token, flow.nonce)
    except (OAuthError, ProviderError, httpx2.HTTPError, KeyError, TypeError, ValueError) as exc:
        raise SignInRefused(Refusal.PROVIDER_ERROR) from exc


@router.get(
    "/oauth/{provider}/callback",
    summary="Where the provider sends the browser back",
    response_class=RedirectResponse,
    status_code=302,
)
async def callback(
    provider: str,
    request: Request,
    db: DbSession,
    state: State,
    viewer: OptionalViewer,
    code: Annotated[str | None, Query()] = None,
    returned_state: Annotated[str | None, Query(alias="state")] = None,
    error: Annotated[str | None, Query()] = None,
) -> Response:
    chosen = _provider(state, provider)
    if error is not None:
        return _refused(
            Refusal.ACCESS_DENIED if error == "access_denied" else Refusal.PROVIDER_ERROR
        )
    now = state.clock.now()
    flow = read_flow(
        request.cookies.get(FLOW_COOKIE), state.secret_key, chosen.name, returned_state, now
    )
    if flow is None or not code:
        return _refused(Refusal.INVALID_STATE)
    try:
        profile = await _exchange(chosen, _redirect_uri(state, chosen.name), flow, code)
        user = await service.resolve_user(
            db,
            chosen.name,
            profile,
            signed_in=viewer.user if viewer else None,
            now=now,
            ip=client_ip(request),
        )
    except SignInRefused as refused:
        return _refused(refused.reason)
    await grant_signup_credit(db, state.settings, user)
    if viewer is not None:
        response = RedirectResponse(flow.next_path, 302)
    elif two_factor.enabled(user):
        # The provider stands in for the password only; the second factor still applies.
        challenge = await tokens.issue(db, user, tokens.Purpose.MFA_CHALLENGE, now)
        fragment = urlencode({"mfa_challenge": challenge, "next": flow.next_path})
        response = RedirectResponse(f"{SIGN_IN_PAGE}#{fragment}", 302)
    else:
        response = RedirectResponse(flow.next_path, 302)
        await start_session(
            db,
            user,
            request=request,
            response=response,
            settings=state.settings,
            secret_key=state.secret_key,
            now=now,
        )
    clear_flow_cookie(response)
    return response


class IdentityOut(BaseModel):
    provider: str
    email: str
    created_at: datetime

    @classmethod
    def of(cls, identity: OAuthIdentity) -> IdentityOut:
        return cls(provider=identity.provider, email=identity.email, created_at=identity.created_at)


class IdentityList(BaseModel):
    data: list[IdentityOut]


@router.get("/identities", summary="Provider accounts that can sign you in")
async def identities(viewer: CurrentViewer, db: DbSession) -> IdentityList:
    return IdentityList(
        data=[IdentityOut.of(i) for i in await service.list_identities(db, viewer.user.id)]
    )


@router.delete(
    "/identities/{provider}",
    summary="Stop signing in with a provider",
    status_code=204,
    response_class=Response,
)
async def unlink(provider: str, viewer: CurrentViewer, db: DbSession, request: Request) -> Response:
    await service.unlink(db, viewer.user, provider, client_ip(request))
    return Response(status_code=204)
