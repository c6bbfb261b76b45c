"""LOG_FORMAT=json: one JSON line per settled /v1 request, served or refused after its key was
accepted, naming the request, organisation, key prefix, model, status and latency (never the
key itself). Off by default, with no line at all."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gptapi.gateway.upstream.registry import ServerSpec
from gptapi.kit.logs import JsonFormatter
from tests.support.databases import fresh_database
from tests.support.fake_upstream import FakeLlamaServer
from tests.support.platform import Platform, test_settings as settings_for
from tests.support.threads import wait_until

MODEL = "fake-chat"
HELLO = [{"role": "user", "content": "Say hello."}]


@pytest.fixture(params=["json", "text"])
def gateway(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Platform]:
    with FakeLlamaServer() as fake, fresh_database("sqlite", tmp_path) as url:
        platform = Platform(settings_for(url, tmp_path, log_format=request.param))
        platform.add_model(MODEL, input_price=1000, output_price=2000)
        platform.start()
        try:
            platform.set_servers("access", [ServerSpec(model=MODEL, base_url=fake.url)])
            probe = platform.account()
            wait_until(lambda: _chat(platform, probe.secret).status_code == 200, 15)
            yield platform
        finally:
            platform.stop()


def _chat(platform: Platform, secret: str, **fields: Any) -> httpx.Response:
    return httpx.post(
        f"{platform.url}/v1/chat/completions",
        headers={"authorization": f"Bearer {secret}"},
        json={"model": MODEL, "messages": HELLO, "max_tokens": 8, **fields},
        timeout=30,
    )


def _lines(caplog: pytest.LogCaptureFixture, request_id: str) -> list[dict[str, Any]]:
    formatter = JsonFormatter()
    lines = [
        json.loads(formatter.format(record))
        for record in caplog.records
        if record.name == "gptapi.access"
    ]
    return [line for line in lines if line["request_id"] == request_id]


def test_each_settled_request_is_one_json_line(
    gateway: Platform, caplog: pytest.LogCaptureFixture
) -> None:
    account = gateway.account("1")
    broke = gateway.account("0")
    with caplog.at_level(logging.INFO, logger="gptapi.access"):
        served = _chat(gateway, account.secret)
        streamed = _chat(gateway, account.secret, stream=True)
        refused = _chat(gateway, broke.secret)
        for response in (served, streamed):
            assert response.status_code == 200
        assert refused.status_code == 429
        ids = [r.headers["x-request-id"] for r in (served, streamed, refused)]
        if gateway.settings.log_format == "text":
            # Off: not a single record, not even filtered out later.
            wait_until(lambda: len(gateway.usage(account)) == 2)
            assert [r for r in caplog.records if r.name == "gptapi.access"] == []
            return
        wait_until(lambda: all(_lines(caplog, request_id) for request_id in ids))
    prefix = gateway.key(account).key_prefix
    for request_id in ids[:2]:
        [line] = _lines(caplog, request_id)
        assert line["logger"] == "gptapi.access"
        assert line["organization_id"] == str(account.organization_id)
        assert line["key_prefix"] == prefix
        assert line["model"] == MODEL
        assert line["endpoint"] == "chat.completions"
        assert line["status"] == 200
        assert isinstance(line["latency_ms"], int) and line["latency_ms"] >= 0
        assert line["completion_tokens"] > 0 and line["cost_nanos"] > 0
    [line] = _lines(caplog, ids[2])
    assert line["status"] == 429
    assert line["organization_id"] == str(broke.organization_id)
    assert line["key_prefix"] == gateway.key(broke).key_prefix
    assert line["cost_nanos"] == 0
    # A key prefix names the key; the secret never appears.
    logged = "".join(JsonFormatter().format(record) for record in caplog.records)
    assert account.secret not in logged and broke.secret not in logged
