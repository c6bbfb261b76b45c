"""OpenTelemetry traces, off unless TRACING=otel (the optional `otel` extra).

On, the whole ASGI app is wrapped in OpenTelemetry's ASGI middleware: one server span per
HTTP request, /v1 included (it bypasses FastAPI's stack), continuing the caller's W3C
`traceparent`, exported in batches over OTLP/HTTP. The exporter reads the standard
variables: OTEL_EXPORTER_OTLP_ENDPOINT (or ..._TRACES_ENDPOINT), OTEL_EXPORTER_OTLP_HEADERS,
OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, OTEL_TRACES_SAMPLER. Off, nothing of
OpenTelemetry is imported and the app is served as it is.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp

from gptapi.config import Settings

MISSING_EXTRA = (
    "TRACING=otel needs the `otel` extra, which is not installed: pip install 'gptapi[otel]'"
)


class TracingUnavailable(RuntimeError):
    pass


def instrument(app: ASGIApp, settings: Settings) -> tuple[ASGIApp, Callable[[], None]]:
    """The app to serve, and what to call at exit to flush the spans still buffered."""
    if settings.tracing != "otel":
        return app, lambda: None
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:
        raise TracingUnavailable(MISSING_EXTRA) from None
    # Resource.create reads OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES; with neither
    # naming the service, it is "gptapi" rather than OpenTelemetry's "unknown_service".
    resource = Resource.create()
    if resource.attributes.get("service.name") == "unknown_service":
        resource = Resource.create({"service.name": "gptapi"})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    traced: Any = OpenTelemetryMiddleware(
        app,
        tracer_provider=provider,
        # No span per body chunk: a stream would make one per token.
        exclude_spans=["receive", "send"],
    )
    return traced, provider.shutdown
