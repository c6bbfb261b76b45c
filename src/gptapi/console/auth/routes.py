"""Everything about signing in and one's own account, as one router for /api."""

from __future__ import annotations

from fastapi import APIRouter

from gptapi.console.auth.endpoints import local_router as local_auth_router, router as auth_router
from gptapi.console.auth.two_factor_endpoints import router as two_factor_router
from gptapi.console.dev_mailbox import api_router as dev_mailbox_router
from gptapi.console.me.endpoints import router as me_router

router = APIRouter()
router.include_router(auth_router)
router.include_router(local_auth_router)
router.include_router(two_factor_router)
router.include_router(me_router)
router.include_router(dev_mailbox_router)
