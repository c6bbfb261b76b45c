"""What the web console needs to know before anyone signs in."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel

from gptapi import __version__
from gptapi.console.deps import State

router = APIRouter(tags=["meta"])


class PublicConfig(BaseModel):
    version: str
    environment: str
    base_url: str
    auth_provider: Literal["local", "supabase"]


@router.get("/config", summary="Public configuration for the web console")
async def public_config(state: State) -> PublicConfig:
    s = state.settings
    return PublicConfig(
        version=__version__,
        environment=s.environment,
        base_url=s.base_url,
        auth_provider=s.auth_provider,
    )
