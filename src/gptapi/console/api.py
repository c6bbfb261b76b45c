"""All of /api in one router; each domain contributes its own."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from gptapi.console.auth.oauth.endpoints import router as oauth_router
from gptapi.console.auth.routes import router as auth_router
from gptapi.console.billing.crypto_endpoints import router as crypto_router
from gptapi.console.billing.endpoints import router as billing_router
from gptapi.console.billing.subscription_endpoints import router as subscription_router
from gptapi.console.catalog.endpoints import router as catalog_router
from gptapi.console.compute.endpoints import router as compute_router
from gptapi.console.compute.pod_endpoints import router as pods_router
from gptapi.console.contact.endpoints import router as contact_router
from gptapi.console.errors import ERROR_RESPONSES
from gptapi.console.keys.endpoints import router as keys_router
from gptapi.console.meta.endpoints import router as meta_router
from gptapi.console.notifications.endpoints import router as notifications_router
from gptapi.console.operator.compute import router as compute_operator_router
from gptapi.console.operator.endpoints import router as operator_router
from gptapi.console.orgs.endpoints import router as orgs_router
from gptapi.console.playground.endpoints import router as playground_router
from gptapi.console.status.routes import router as status_router
from gptapi.console.text_guard import refuse_nul_characters
from gptapi.console.usage.endpoints import router as usage_router
from gptapi.console.webhooks.endpoints import router as webhooks_router


def console_router() -> APIRouter:
    router = APIRouter(
        prefix="/api",
        responses=ERROR_RESPONSES,
        dependencies=[Depends(refuse_nul_characters)],
    )
    router.include_router(meta_router)
    router.include_router(auth_router)
    router.include_router(orgs_router)
    router.include_router(keys_router)
    router.include_router(catalog_router)
    router.include_router(oauth_router)
    router.include_router(usage_router)
    router.include_router(operator_router)
    router.include_router(compute_operator_router)
    router.include_router(status_router)
    router.include_router(webhooks_router)
    router.include_router(billing_router)
    router.include_router(crypto_router)
    router.include_router(subscription_router)
    router.include_router(contact_router)
    router.include_router(notifications_router)
    router.include_router(playground_router)
    router.include_router(compute_router)
    router.include_router(pods_router)
    return router
