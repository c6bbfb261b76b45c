"""POST /v1/audio/transcriptions: an audio file heard, answered with its text.

The request is OpenAI's multipart form. The gateway measures the audio itself, so what a
request is metered in never depends on the server: a WAV file's length (from its samples,
not its header, which a streamed WAV leaves unset), rounded up to a whole second. Other
containers are refused with a 400 naming `file`: no well-kept pure-Python reader of
compressed audio is a dependency here. The hold is the exact cost, charged once the text
comes back and released if it does not. The JSON answers carry it as OpenAI's duration
usage (`{"type": "duration", "seconds": …}`) with `cost` and `cost_nanos`; every answer has
the `x-request-cost` headers, the only place the text formats (text, srt, vtt) have for it.

Upstream, the form is sent again, built from the fields validated here, to any
OpenAI-compatible transcription server (the embedded default's is PocketSphinx's).
"""

from __future__ import annotations

import io
import uuid
import wave
from collections.abc import Callable
from typing import Any

import orjson
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response

from gptapi.gateway.catalog import CatalogModel
from gptapi.gateway.errors import OpenAIError, invalid_request
from gptapi.gateway.openai.billing import priced
from gptapi.gateway.openai.plan import Metered, Plan
from gptapi.gateway.openai.protocol import TranscriptionRequest, parse
from gptapi.gateway.openai.speech import cost_headers

# Form fields that may repeat, sent as OpenAI's SDKs send arrays: `name[]`.
LIST_FIELDS = ("timestamp_granularities", "include")
MAX_FIELDS = 32


def _unsupported(message: str, param: str) -> OpenAIError:
    return invalid_request(message, param=param, code="unsupported_parameter")


class TranscriptionSurface:
    endpoint = "audio.transcriptions"
    path = "/v1/audio/transcriptions"
    kind = "transcription"

    async def read(self, request: Request) -> tuple[dict[str, Any], int]:
        if not request.headers.get("content-type", "").startswith("multipart/form-data"):
            raise invalid_request(
                "This endpoint takes a multipart/form-data body with the audio as 'file'."
            )
        try:
            form = await request.form(max_files=1, max_fields=MAX_FIELDS)
        except Exception as exc:  # Starlette's and python-multipart's parse errors
            raise invalid_request(f"The multipart body could not be read: {exc}") from None
        fields: dict[str, Any] = {}
        size = 0
        try:
            for name, value in form.multi_items():
                if isinstance(value, UploadFile):
                    if name != "file":
                        raise invalid_request(
                            f"Unrecognized file supplied: {name}",
                            param=name,
                            code="unknown_parameter",
                        )
                    data = await value.read()
                    size += len(data)
                    fields["file"] = (value.filename or "audio.wav", data)
                    continue
                size += len(value)
                listed = name.removesuffix("[]")
                if listed in LIST_FIELDS:
                    fields.setdefault(listed, []).append(value)
                elif name in fields:
                    raise invalid_request(f"'{name}' is given twice.", param=name)
                else:
                    fields[name] = _typed(name, value)
        finally:
            await form.close()
        return fields, size

    def plan(
        self, body: dict[str, Any], model: CatalogModel, *, body_size: int, output_cap: int
    ) -> Plan:
        request = parse(TranscriptionRequest, body)
        if request.stream:
            raise _unsupported("stream is not supported: the text comes back whole.", "stream")
        if request.include:
            raise _unsupported("include (logprobs) is not supported.", "include")
        if request.timestamp_granularities and request.response_format != "verbose_json":
            raise invalid_request(
                "timestamp_granularities needs response_format 'verbose_json'.",
                param="timestamp_granularities",
                code="invalid_value",
            )
        if not isinstance(request.file, tuple):
            raise invalid_request("'file' must be an uploaded audio file.", param="file")
        filename, audio = request.file
        metered = Metered("audio_seconds", audio_seconds(audio))
        boundary = uuid.uuid4().hex
        return Plan(
            endpoint=self.endpoint,
            path=self.path,
            model=model,
            requested_model=request.model,
            payload={"model": request.model},
            metered=metered,
            raw_body=_form(request, filename, audio, boundary),
            content_type=f"multipart/form-data; boundary={boundary}",
            reply=_answer(request.response_format, metered),
        )


def _typed(name: str, value: str) -> Any:
    """A form's text as the JSON type its field has."""
    if name == "temperature":
        try:
            return float(value)
        except ValueError:
            raise invalid_request(
                f"Invalid value for 'temperature': {value!r} is not a number.",
                param="temperature",
                code="invalid_value",
            ) from None
    if name == "stream":
        if value not in ("true", "false"):
            raise invalid_request(
                "'stream' must be true or false.", param="stream", code="invalid_value"
            )
        return value == "true"
    return value


def audio_seconds(audio: bytes) -> int:
    """The length of a PCM WAV file in whole seconds, rounded up; a 400 naming `file` for
    anything else."""
    try:
        with wave.open(io.BytesIO(audio), "rb") as reader:
            frame_size = reader.getnchannels() * reader.getsampwidth()
            rate = reader.getframerate()
            # The samples present, not the header's count (a streamed WAV leaves it unset).
            frames = len(reader.readframes(reader.getnframes())) // frame_size
    except (wave.Error, EOFError, ValueError, ZeroDivisionError) as exc:
        raise invalid_request(
            f"The audio could not be read ({exc}): send a PCM WAV file.",
            param="file",
            code="invalid_value",
        ) from None
    if frames == 0 or rate <= 0:
        raise invalid_request("The audio file has no samples.", param="file", code="invalid_value")
    return -(-frames // rate)


def _form(request: TranscriptionRequest, filename: str, audio: bytes, boundary: str) -> bytes:
    fields: list[tuple[str, str]] = [
        ("model", request.model),
        ("response_format", request.response_format),
    ]
    for name in ("language", "prompt", "temperature"):
        value = getattr(request, name)
        if value is not None:
            fields.append((name, str(value)))
    fields += [("timestamp_granularities[]", g) for g in request.timestamp_granularities or ()]
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        + value.encode()
        + b"\r\n"
        for name, value in fields
    ]
    safe = filename.replace('"', "").replace("\r", "").replace("\n", "") or "audio.wav"
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{safe}"\r\n'
        "Content-Type: audio/wav\r\n\r\n".encode()
        + audio
        + b"\r\n"
    )
    return b"".join(parts) + f"--{boundary}--\r\n".encode()


def _answer(
    response_format: str, metered: Metered
) -> Callable[[bytes], Callable[[int, dict[str, str]], Response]]:
    def read(raw: bytes) -> Callable[[int, dict[str, str]], Response]:
        if response_format in ("json", "verbose_json"):
            data = orjson.loads(raw)  # a JSONDecodeError is a ValueError
            if not isinstance(data, dict) or not isinstance(data.get("text"), str):
                raise ValueError("no text in the transcription")

            def respond(cost: int, headers: dict[str, str]) -> Response:
                usage = {"type": "duration", "seconds": metered.amount}
                body = {**data, "usage": priced(usage, cost)}
                shown = {**headers, **cost_headers(cost, metered.unit, metered.amount)}
                return Response(orjson.dumps(body), 200, shown, "application/json")

            return respond
        text = raw.decode()  # a UnicodeDecodeError is a ValueError

        def respond_text(cost: int, headers: dict[str, str]) -> Response:
            shown = {**headers, **cost_headers(cost, metered.unit, metered.amount)}
            return Response(text, 200, shown, "text/plain; charset=utf-8")

        return respond_text

    return read
