"""TRACING=otel: a real gateway process exports one server span per request over OTLP/HTTP,
continuing the caller's trace, with no span per streamed chunk, and flushes what it holds
when it stops. Off, nothing of
OpenTelemetry is loaded; asked for without the extra, the gateway says what to install."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.support.databases import fresh_database
from tests.support.fake_upstream import FakeLlamaServer
from tests.support.gateway_process import Gateway
from tests.support.platform import Platform, test_settings as settings_for
from tests.support.threads import wait_until

MODEL = "fake-chat"
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


class Collector:
    """An OTLP/HTTP trace receiver: what an OpenTelemetry Collector accepts on /v1/traces
    (protobuf ExportTraceServiceRequest), recorded as (service name, span) pairs."""

    def __init__(self) -> None:
        self.spans: list[tuple[str, Any]] = []
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                request = ExportTraceServiceRequest.FromString(body)
                for resource_spans in request.resource_spans:
                    resource = resource_spans.resource
                    attributes = {a.key: a.value.string_value for a in resource.attributes}
                    for scope_spans in resource_spans.scope_spans:
                        for span in scope_spans.spans:
                            collector.spans.append((attributes["service.name"], span))
                self.send_response(200)
                self.send_header("content-type", "application/x-protobuf")
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def in_trace(self, trace_id: str) -> list[Any]:
        return [span for _, span in self.spans if span.trace_id.hex() == trace_id]


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Platform]:
    with fresh_database("sqlite", tmp_path) as url:
        platform = Platform(settings_for(url, tmp_path))
        platform.add_model(MODEL, input_price=1000, output_price=2000)
        try:
            yield platform
        finally:
            platform.stop()


def _attributes(span: Any) -> dict[str, Any]:
    return {a.key: a.value.string_value or a.value.int_value for a in span.attributes}


def test_requests_are_traced_over_otlp(database: Platform, tmp_path: Path) -> None:
    collector = Collector()
    account = database.account("1")
    with FakeLlamaServer() as upstream:
        gateway = Gateway(
            database.settings.database_url,
            tmp_path,
            upstream.url,
            MODEL,
            TRACING="otel",
            OTEL_EXPORTER_OTLP_ENDPOINT=collector.url,
            OTEL_SERVICE_NAME="gateway-under-test",
            # Spans leave only in the flush at shutdown, which is what this proves happens.
            OTEL_BSP_SCHEDULE_DELAY="3600000",
        )
        try:
            wait_until(lambda: gateway.chat(account).status_code == 200, timeout=30)
            parent = f"00-{TRACE_ID}-00f067aa0ba902b7-01"
            streamed = gateway.chat(account, headers={"traceparent": parent}, stream=True)
            assert streamed.status_code == 200
            assert streamed.text.rstrip().endswith("data: [DONE]")
            assert collector.spans == []
        finally:
            gateway.signal()
            gateway.wait()
    [span] = collector.in_trace(TRACE_ID)  # one span for the whole stream, not one per chunk
    assert span.parent_span_id.hex() == "00f067aa0ba902b7"
    assert span.name == "POST /v1/chat/completions"
    attributes = _attributes(span)
    assert attributes.get("http.status_code", attributes.get("http.response.status_code")) == 200
    assert {service for service, _ in collector.spans} == {"gateway-under-test"}


def test_off_nothing_of_opentelemetry_is_loaded(tmp_path: Path) -> None:
    script = (
        "import sys; from gptapi.app import create_app; from gptapi.config import Settings; "
        "from gptapi.tracing import instrument; "
        "app = create_app(Settings(_env_file=None)); "
        "served, _ = instrument(app, app.state.settings); "
        "assert served is app; "
        "print(sorted(m for m in sys.modules if m.startswith(('opentelemetry.sdk', "
        "'opentelemetry.instrumentation', 'opentelemetry.exporter'))))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "[]"


def test_tracing_without_the_extra_says_what_to_install(database: Platform, tmp_path: Path) -> None:
    blocked = (
        "import sys; sys.modules['opentelemetry.instrumentation.asgi'] = None; "
        "from gptapi.cli.main import app; app(['gateway'])"
    )
    result = subprocess.run(
        [sys.executable, "-c", blocked],
        cwd=tmp_path,
        env={**os.environ, "DATABASE_URL": database.settings.database_url, "TRACING": "otel"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert "pip install 'gptapi[otel]'" in result.stderr
