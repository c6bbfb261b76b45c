"""A `gptapi worker` killed with SIGKILL in the middle of a delivery loses nothing: once its
lease runs out, another worker sends the same event again under the same webhook-id."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from standardwebhooks import Webhook

from gptapi.console.state import resolve_secret_key
from gptapi.models import WebhookDelivery, WebhookEndpoint
from gptapi.outbox import emit
from gptapi.webhooks.signing import generate_secret, secret_sealer
from tests.support.databases import fresh_database
from tests.support.platform import Platform, test_settings as settings_for
from tests.support.threads import wait_until
from tests.support.webhooks import Receiver, Reply

TIMEOUT_SECONDS = 4  # the lease is this plus a margin


@contextmanager
def worker_process(database_url: str, tmp: Path, name: str) -> Iterator[subprocess.Popen[bytes]]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DATA_DIR": str(tmp),
        "ENVIRONMENT": "test",
        "LOCAL_INFERENCE": "off",
        "SMTP_HOST": "",
        "WEBHOOK_TIMEOUT_SECONDS": str(TIMEOUT_SECONDS),
        "WEBHOOK_POLL_SECONDS": "0.2",
    }
    with (tmp / f"{name}.log").open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "gptapi", "worker"],
            cwd=tmp,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            yield process
        finally:
            if process.poll() is None:
                process.terminate()
            process.wait(30)


def test_killed_worker_mid_delivery_is_redelivered_with_the_same_id(
    backend: str, tmp_path: Path
) -> None:
    receiver = Receiver()
    receiver.replies.append(Reply(hang=True))
    secret = generate_secret()
    with fresh_database(backend, tmp_path) as url:
        settings = settings_for(url, tmp_path, run_workers=False)
        # The worker process finds the same generated key under DATA_DIR.
        sealed = secret_sealer(resolve_secret_key(settings)).seal(secret)
        platform = Platform(settings)
        try:
            account = platform.account()

            async def setup(session: AsyncSession) -> uuid.UUID:
                endpoint = WebhookEndpoint(
                    organization_id=account.organization_id,
                    url=receiver.url,
                    event_types=["balance.low"],
                    secret=sealed,
                )
                session.add(endpoint)
                await emit(
                    session,
                    organization_id=account.organization_id,
                    event_type="balance.low",
                    data={"balance_nanos": 1},
                )
                await session.flush()
                return endpoint.id

            endpoint_id = platform.run(setup)

            async def delivery(session: AsyncSession) -> WebhookDelivery | None:
                return await session.scalar(
                    select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id)
                )

            with worker_process(url, tmp_path, "first") as first:
                wait_until(lambda: len(receiver.received) == 1, timeout=60)
                first.kill()
                first.wait(30)
            stranded = platform.run(delivery)
            assert stranded is not None
            assert (stranded.status, stranded.attempts) == ("pending", 1)
            assert stranded.lease_owner is not None

            with worker_process(url, tmp_path, "second"):
                wait_until(
                    lambda: getattr(platform.run(delivery), "status", "") == "succeeded",
                    timeout=60,
                )
        finally:
            platform.stop()
            receiver.stop()

    killed, redelivered = receiver.received
    assert killed.headers["webhook-id"] == redelivered.headers["webhook-id"]
    assert killed.body == redelivered.body
    Webhook(secret).verify(redelivered.body, redelivered.headers)
