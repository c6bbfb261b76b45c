"""POST /v1/audio/speech: text read out, answered with the audio itself.

Metered in characters of `input` (Unicode code points, as Python counts them), known before
the request runs: the hold is the exact cost, charged once the audio comes back and
released if it does not. The audio body has no room for usage, so the cost travels in
response headers (`x-request-cost` in dollars, `x-request-cost-nanos`, and the characters
charged in `x-request-characters`). Which voices and formats there are is the servers'
business: one that cannot do what was asked answers a 400 naming the field, passed on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.responses import Response

from gptapi.gateway.catalog import CatalogModel
from gptapi.gateway.errors import invalid_request
from gptapi.gateway.openai.plan import Metered, Plan
from gptapi.gateway.openai.protocol import SpeechRequest, parse
from gptapi.kit.money import nanos_to_decimal

# What OpenAI answers each format with.
MEDIA_TYPES = {
    "mp3": "audio/mpeg",
    "opus": "audio/opus",
    "aac": "audio/aac",
    "flac": "audio/flac",
    "wav": "audio/wav",
    "pcm": "audio/pcm",
}


def cost_headers(cost: int, unit: str, amount: int) -> dict[str, str]:
    """The charge of an answer whose body cannot carry it, as `usage.cost` states it."""
    return {
        "x-request-cost": f"{nanos_to_decimal(cost):.9f}",
        "x-request-cost-nanos": str(cost),
        f"x-request-{unit.replace('_', '-')}": str(amount),
    }


class SpeechSurface:
    endpoint = "audio.speech"
    path = "/v1/audio/speech"
    kind = "speech"

    def plan(
        self, body: dict[str, Any], model: CatalogModel, *, body_size: int, output_cap: int
    ) -> Plan:
        request = parse(SpeechRequest, body)
        if request.stream_format == "sse":
            raise invalid_request(
                "stream_format 'sse' is not supported: the audio comes back whole "
                "(stream_format 'audio').",
                param="stream_format",
                code="unsupported_value",
            )
        metered = Metered("characters", len(request.input))
        return Plan(
            endpoint=self.endpoint,
            path=self.path,
            model=model,
            requested_model=request.model,
            # The defaults are sent, so every server makes what OpenAI's would.
            payload={**body, "response_format": request.response_format, "speed": request.speed},
            metered=metered,
            reply=_audio(request.response_format, metered),
        )


def _audio(
    response_format: str, metered: Metered
) -> Callable[[bytes], Callable[[int, dict[str, str]], Response]]:
    def read(raw: bytes) -> Callable[[int, dict[str, str]], Response]:
        if not raw:
            raise ValueError("no audio")

        def respond(cost: int, headers: dict[str, str]) -> Response:
            shown = {**headers, **cost_headers(cost, metered.unit, metered.amount)}
            return Response(raw, 200, shown, MEDIA_TYPES[response_format])

        return respond

    return read
