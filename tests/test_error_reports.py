"""Server errors reach Sentry (a loopback double of its envelope endpoint) when SENTRY_DSN is
set, tagged with the request id, and scrubbed: no API key, password, cookie, token, email
address or request body leaves the platform."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sentry_sdk
from fastapi import Request
from fastapi.routing import APIRoute

from gptapi.app import create_app
from tests.support.databases import fresh_database
from tests.support.platform import test_settings as settings_for
from tests.support.sentry_double import SentryDouble
from tests.support.threads import ThreadedUvicorn, wait_until

API_KEY = "gpt_live_Zm9vYmFyYmF6cXV4cXV1eHh5enp5eHh6enp6enp6enp6"
PASSWORD = "Correct-Horse-Battery-Staple-9"
SESSION = "session-cookie-value-4f9a2c"


async def boom(request: Request) -> None:
    body = await request.json()
    password = body["password"]
    # The password is in the body (never sent) and a local variable (locals are not sent);
    # the message names it the way log lines do.
    raise RuntimeError(f"could not check password={password} for ada@example.com, {API_KEY}")


@pytest.fixture(scope="module")
def sentry() -> Iterator[SentryDouble]:
    double = SentryDouble().start()
    try:
        yield double
    finally:
        double.stop()


@pytest.fixture(scope="module")
def reporting_site(sentry: SentryDouble, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp: Path = tmp_path_factory.mktemp("sentry")
    with fresh_database("sqlite", tmp) as url:
        app = create_app(settings_for(url, tmp, sentry_dsn=sentry.dsn(), run_workers=False))
        app.router.routes.insert(0, APIRoute("/api/test/boom", boom, methods=["POST"]))
        server = ThreadedUvicorn(app).start()
        try:
            yield server.url
        finally:
            server.stop()
    assert not sentry_sdk.get_client().is_active()  # stopped with the app


def test_a_server_error_is_reported_scrubbed_with_its_request_id(
    sentry: SentryDouble, reporting_site: str
) -> None:
    answer = httpx.post(
        f"{reporting_site}/api/test/boom?token=secret-query-token",
        json={"password": PASSWORD},
        headers={
            "Authorization": f"Bearer {API_KEY}",
            "Cookie": f"gptapi_session={SESSION}",
            "X-CSRF-Token": "csrf-value-123",
        },
    )
    assert answer.status_code == 500
    request_id = answer.headers["x-request-id"]
    wait_until(lambda: bool(sentry.tagged("request_id", request_id)))
    [event] = sentry.tagged("request_id", request_id)
    exception: dict[str, Any] = event["exception"]["values"][-1]
    assert exception["type"] == "RuntimeError"
    assert event["request"]["method"] == "POST"
    assert event["request"]["url"].endswith("/api/test/boom")
    raw = b"".join(sentry.raw).decode()
    for secret in (API_KEY, PASSWORD, SESSION, "csrf-value-123", "secret-query-token"):
        assert secret not in raw
    assert "ada@example.com" not in raw
    assert "password" not in event["request"] and "data" not in event["request"]


def test_without_a_dsn_nothing_is_reported(tmp_path: Path) -> None:
    from gptapi import error_reports

    settings = settings_for("sqlite://", tmp_path)
    assert error_reports.start(settings) is False
