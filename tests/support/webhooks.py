"""Real HTTP receivers for outgoing webhooks, and a platform whose webhook worker the test
drives by hand on a clock it controls."""

from __future__ import annotations

import threading
import uuid
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from random import Random
from typing import Any

import pytest
from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.kit.clock import ManualClock
from gptapi.kit.ssrf import EgressGuard
from gptapi.mail.transports import DevMailbox
from gptapi.models import WebhookCursor, WebhookEndpoint, WebhookEvent
from gptapi.outbox import emit
from gptapi.workers.webhooks import WebhookWorker
from tests.support.console import Member
from tests.support.databases import fresh_database
from tests.support.platform import Platform, test_settings


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"ok"
    hang: bool = False  # never answer (until the receiver stops)


class Receiver:
    """A stdlib HTTP server on loopback answering each POST with the next scripted reply
    (then `default`), recording every request."""

    def __init__(self, default: Reply | None = None) -> None:
        self.received: list[Received] = []
        self.replies: deque[Reply] = deque()
        self.default = default or Reply()
        self._release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(length)
                receiver.received.append(
                    Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                )
                reply = receiver.replies.popleft() if receiver.replies else receiver.default
                if reply.hang:
                    receiver._release.wait(120)
                    return
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def stop(self) -> None:
        self._release.set()
        self.server.shutdown()
        self.server.server_close()


class Hooks:
    """A started platform (its own workers off) plus a webhook worker run by hand."""

    def __init__(self, backend_url: str, tmp: Path, **overrides: Any) -> None:
        self.clock = ManualClock()
        self.mailbox = DevMailbox()
        settings = test_settings(backend_url, tmp, run_workers=False, **overrides)
        self.platform = Platform(settings, clock=self.clock, mailer=self.mailbox).start()
        self.worker = self.make_worker()

    def make_worker(self, guard: EgressGuard | None = None) -> WebhookWorker:
        return WebhookWorker(
            self.platform.settings,
            self.platform.sessions,
            self.mailbox,
            self.clock,
            self.secret_key,
            guard=guard,
            rng=Random(7),
        )

    @property
    def secret_key(self) -> bytes:
        key: bytes = self.platform.runtime.console.secret_key
        return key

    def run_worker(self, worker: WebhookWorker | None = None) -> int:
        return self.platform.portal.call((worker or self.worker).run_once())

    def reset(self) -> None:
        """Back to the present, with no endpoints and no undelivered events."""
        self.clock.advance((datetime.now(UTC) - self.clock.now()).total_seconds())
        self.mailbox.messages.clear()

        async def clear(session: AsyncSession) -> None:
            await session.execute(delete(WebhookEndpoint))
            await session.execute(delete(WebhookCursor))
            await session.execute(update(WebhookEvent).values(fanned_out=True))

        self.platform.run(clear)

    def emit(
        self, organization_id: uuid.UUID | None, event_type: str, data: dict[str, Any]
    ) -> None:
        async def work(session: AsyncSession) -> None:
            await emit(session, organization_id=organization_id, event_type=event_type, data=data)

        self.platform.run(work)

    def subscribe(self, member: Member, url: str, *event_types: str) -> dict[str, Any]:
        """An endpoint created through the API; the body includes its secret."""
        response = member.client.post(
            f"/api/orgs/{member.org_id}/webhooks",
            json={"url": url, "event_types": list(event_types)},
        )
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    def stop(self) -> None:
        self.platform.portal.call(self.worker.aclose())
        self.platform.stop()


@pytest.fixture(scope="session")
def hooks_platform(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hooks]:
    """Short retry schedule and timeout so tests stay quick."""
    tmp = tmp_path_factory.mktemp(f"webhooks-{backend}")
    with fresh_database(backend, tmp) as url:
        hooks = Hooks(url, tmp, webhook_retry_schedule=(5, 300, 1800), webhook_timeout_seconds=2)
        try:
            yield hooks
        finally:
            hooks.stop()


@pytest.fixture
def hooks(hooks_platform: Hooks) -> Hooks:
    hooks_platform.reset()
    return hooks_platform


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    try:
        yield server
    finally:
        server.stop()
