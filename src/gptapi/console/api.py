"""All of /api in one router; each domain contributes its own."""

from __future__ import annotations

from fastapi import APIRouter

from gptapi.console.errors import ERROR_RESPONSES
from gptapi.console.meta.endpoints import router as meta_router


def console_router() -> APIRouter:
    router = APIRouter(prefix="/api", responses=ERROR_RESPONSES)
    router.include_router(meta_router)
    return router
