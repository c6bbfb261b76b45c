"""Background loops: each small, restartable, and started by the app's lifespan when
RUN_WORKERS is on (inside `gptapi serve`, or alone in `gptapi worker`)."""

from __future__ import annotations

from collections.abc import Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncEngine

from gptapi.config import Settings
from gptapi.kit.clock import Clock
from gptapi.kit.db import SessionMaker
from gptapi.mail.message import Mailer
from gptapi.workers.auth_cleanup import auth_cleanup_loop
from gptapi.workers.billing import billing_loop
from gptapi.workers.compute import compute_loop
from gptapi.workers.status import status_loop
from gptapi.workers.usage_history import usage_history_loop
from gptapi.workers.webhook_retention import webhook_retention_loop
from gptapi.workers.webhooks import webhook_loop

if TYPE_CHECKING:
    from gptapi.app import Runtime


@dataclass
class WorkerContext:
    settings: Settings
    engine: AsyncEngine
    sessions: SessionMaker
    mailer: Mailer
    clock: Clock
    runtime: Runtime


def worker_loops(ctx: WorkerContext) -> list[Coroutine[Any, Any, None]]:
    """Every background loop this process should run; each returns only when cancelled."""
    return [
        billing_loop(ctx),
        status_loop(ctx),
        webhook_loop(ctx),
        webhook_retention_loop(ctx),
        auth_cleanup_loop(ctx),
        compute_loop(ctx),
        usage_history_loop(ctx),
    ]
