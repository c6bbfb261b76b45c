"""/livez and /readyz, and the shutdown they announce: on SIGTERM a gateway turns unready
while it keeps serving, then closes its listener and lets in-flight requests finish."""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url

from tests.support.databases import admin_sql, fresh_database
from tests.support.fake_upstream import REPLY, FakeLlamaServer
from tests.support.gateway_process import Gateway, status_of
from tests.support.platform import Platform, test_settings as settings_for
from tests.support.threads import wait_until

MODEL = "fake-chat"


@pytest.fixture
def postgres_platform(tmp_path: Path) -> Iterator[Platform]:
    with fresh_database("postgresql", tmp_path) as url:
        platform = Platform(settings_for(url, tmp_path)).start()
        try:
            yield platform
        finally:
            platform.stop()


def test_readiness_follows_the_database(postgres_platform: Platform) -> None:
    url = postgres_platform.url
    assert httpx.get(url + "/livez").json() == {"status": "ok"}
    assert httpx.get(url + "/readyz").json() == {"status": "ok"}
    name = make_url(postgres_platform.settings.database_url).database
    # The database refuses connections and drops the ones it has: a real outage.
    asyncio.run(admin_sql(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
    backends = f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
    asyncio.run(admin_sql(backends))
    try:
        response = httpx.get(url + "/readyz", timeout=10)
        assert response.status_code == 503
        assert response.json() == {"status": "database unreachable"}
        assert httpx.get(url + "/livez").status_code == 200  # no reason to restart it
    finally:
        asyncio.run(admin_sql(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
    wait_until(lambda: status_of(url + "/readyz") == 200)


def test_readiness_is_off_while_shutting_down(postgres_platform: Platform) -> None:
    app_readiness = postgres_platform.app.state.readiness
    app_readiness.draining = True
    try:
        response = httpx.get(postgres_platform.url + "/readyz")
        assert response.status_code == 503
        assert response.json() == {"status": "shutting down"}
        assert httpx.get(postgres_platform.url + "/livez").status_code == 200
    finally:
        app_readiness.draining = False


# ------------------------------------------------------------------ a real gateway process


@pytest.fixture
def sqlite_platform(tmp_path: Path) -> Iterator[Platform]:
    """The database helpers only: the gateway under test is a process of its own."""
    with fresh_database("sqlite", tmp_path) as url:
        platform = Platform(settings_for(url, tmp_path))
        platform.add_model(MODEL, input_price=1000, output_price=2000)
        try:
            yield platform
        finally:
            platform.stop()


def test_sigterm_turns_unready_keeps_serving_and_lets_requests_finish(
    sqlite_platform: Platform, tmp_path: Path
) -> None:
    account = sqlite_platform.account("1")
    with FakeLlamaServer() as upstream:
        gateway = Gateway(
            sqlite_platform.settings.database_url,
            tmp_path,
            upstream.url,
            MODEL,
            SHUTDOWN_UNREADY_SECONDS="300",  # longer than the test: the second signal ends it
            SHUTDOWN_GRACE_SECONDS="60",
            LOG_FORMAT="json",
        )
        wait_until(lambda: gateway.chat(account).status_code == 200, timeout=30)
        upstream.hold()
        with concurrent.futures.ThreadPoolExecutor() as pool:
            in_flight = pool.submit(gateway.chat, account)
            upstream.wait_for_chats(2)

            gateway.signal()
            wait_until(lambda: status_of(gateway.url + "/readyz") == 503)
            # Unready, not gone: the load balancer's last requests are still answered.
            assert status_of(gateway.url + "/livez") == 200
            assert not in_flight.done()

            gateway.signal()  # the wait is over: the listener closes
            wait_until(lambda: status_of(gateway.url + "/livez") is None)
            assert gateway.process.poll() is None  # still finishing the request in flight
            upstream.release()
            response = in_flight.result(timeout=60)
        assert response.status_code == 200
        assert response.json()["choices"][0]["message"]["content"] == "".join(REPLY)
        gateway.wait()
    # The usage writer flushed before the process ended: both requests are billed.
    assert len(sqlite_platform.usage(account)) == 2
    # JSON logs, uvicorn's own lines included, with one access line per request.
    logged = [
        json.loads(line) for line in gateway.log.read_text().splitlines() if line.startswith("{")
    ]
    assert any(line["logger"].startswith("uvicorn") for line in logged)
    access = [line for line in logged if line["logger"] == "gptapi.access"]
    billed = {usage.request_id for usage in sqlite_platform.usage(account)}
    assert sorted(line["request_id"] for line in access) == sorted(billed)
    assert response.headers["x-request-id"] == access[-1]["request_id"]


def test_one_sigterm_is_enough(sqlite_platform: Platform, tmp_path: Path) -> None:
    with FakeLlamaServer() as upstream:
        gateway = Gateway(
            sqlite_platform.settings.database_url,
            tmp_path,
            upstream.url,
            MODEL,
            SHUTDOWN_UNREADY_SECONDS="1",
        )
        gateway.signal()
        gateway.wait()
    assert "Shutting down" in gateway.log.read_text()
