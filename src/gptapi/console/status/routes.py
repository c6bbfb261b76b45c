"""The status page's routes: public reads and operator incident management."""

from __future__ import annotations

from fastapi import APIRouter

from gptapi.console.status.admin import router as admin_router
from gptapi.console.status.public import router as public_router

router = APIRouter()
router.include_router(public_router)
router.include_router(admin_router)
