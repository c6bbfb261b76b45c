"""What the web console needs to know before anyone signs in."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel

from gptapi import __version__
from gptapi.console.auth.oauth.providers import configured_providers
from gptapi.console.deps import State

router = APIRouter(tags=["meta"])


class PublicConfig(BaseModel):
    version: str
    environment: str
    base_url: str
    auth_provider: Literal["local", "supabase"]
    # Sign-in buttons to show (local mode); Supabase mode signs in through Supabase itself.
    oauth_providers: list[str]
    supabase_url: str | None
    supabase_anon_key: str | None
    # The console's error reports (Sentry) and, with the visitor's consent, product
    # analytics (PostHog); None when not configured.
    sentry_dsn: str | None
    posthog_key: str | None
    posthog_host: str | None


@router.get("/config", summary="Public configuration for the web console")
async def public_config(state: State) -> PublicConfig:
    s = state.settings
    supabase = s.auth_provider == "supabase"
    return PublicConfig(
        version=__version__,
        environment=s.environment,
        base_url=s.base_url,
        auth_provider=s.auth_provider,
        oauth_providers=list(configured_providers(s)),
        supabase_url=s.supabase_url if supabase else None,
        supabase_anon_key=s.supabase_anon_key if supabase else None,
        sentry_dsn=s.sentry_browser_dsn or None,
        posthog_key=s.posthog_key or None,
        posthog_host=s.posthog_host if s.posthog_key else None,
    )
