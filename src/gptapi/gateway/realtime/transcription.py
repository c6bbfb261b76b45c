"""WS /ws/audio/transcriptions: audio in as it is recorded, text out as it is heard.

Client events: `session.update` {session: {model, language, prompt, sample_rate,
segment_seconds}}, binary frames of 16-bit little-endian mono PCM at `sample_rate` (16000
unless set), and `input_audio.commit` (the end of an utterance). Every `segment_seconds` (5
unless set, 1 to 30) of audio is transcribed as it fills, as one /v1/audio/transcriptions
request, and answered with `transcript.delta` {request_id, text, usage: {type: duration,
seconds, cost, cost_nanos}}; a commit transcribes what is left and ends with
`transcript.done` {text, usage} for the whole utterance. Segments are whole seconds, so
only the last one of an utterance is rounded up when billed.
"""

from __future__ import annotations

import io
import wave
from typing import Any

from gptapi.gateway.openai.billing import priced
from gptapi.gateway.realtime.session import Session, unknown_event
from gptapi.gateway.realtime.settings import required, updated, whole_number

SETTINGS = frozenset({"model", "language", "prompt", "sample_rate", "segment_seconds"})
DEFAULTS = {"sample_rate": 16_000, "segment_seconds": 5}
SAMPLE_BYTES = 2


def wav(pcm: bytes, rate: int) -> bytes:
    """16-bit mono samples as a WAV file, as the transcription surface takes them."""
    out = io.BytesIO()
    with wave.open(out, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(SAMPLE_BYTES)
        writer.setframerate(rate)
        writer.writeframes(pcm)
    return out.getvalue()


class Transcriber:
    """Stretches of audio transcribed, one request each, with the utterance's totals."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.texts: list[str] = []
        self.seconds = 0
        self.cost = 0

    async def hear(self, pcm: bytes, settings: dict[str, Any]) -> dict[str, Any]:
        """The segment's request id, text and usage (its duration and charge)."""
        audio = wav(pcm, settings["sample_rate"])
        body: dict[str, Any] = {
            "model": settings["model"],
            "file": ("audio.wav", audio),
            "response_format": "json",
        }
        for name in ("language", "prompt"):
            if name in settings:
                body[name] = settings[name]
        turn = await self.session.turn("/v1/audio/transcriptions", body, size=len(audio))
        answer = turn.json()
        text: str = answer["text"].strip()
        self.seconds += int(answer["usage"]["seconds"])
        self.cost += turn.cost_nanos
        if text:
            self.texts.append(text)
        return {"request_id": turn.request_id, "text": text, "usage": answer["usage"]}

    def totals(self) -> tuple[str, dict[str, Any]]:
        """The utterance's text and usage, and start a new one."""
        text = " ".join(self.texts)
        usage = priced({"type": "duration", "seconds": self.seconds}, self.cost)
        self.texts, self.seconds, self.cost = [], 0, 0
        return text, usage


class AudioBuffer:
    """PCM as it arrives, cut into whole segments of the session's length."""

    def __init__(self) -> None:
        self.pcm = bytearray()

    def add(self, data: bytes, segment_bytes: int) -> list[bytes]:
        self.pcm += data
        segments: list[bytes] = []
        while segment_bytes and len(self.pcm) >= segment_bytes:
            segments.append(bytes(self.pcm[:segment_bytes]))
            del self.pcm[:segment_bytes]
        return segments

    def rest(self) -> bytes:
        """The whole samples left, emptied."""
        whole = len(self.pcm) - len(self.pcm) % SAMPLE_BYTES
        rest = bytes(self.pcm[:whole])
        self.pcm.clear()
        return rest


class TranscriptionStream:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.settings: dict[str, Any] = dict(DEFAULTS)
        self.buffer = AudioBuffer()
        self.transcriber = Transcriber(session)

    async def on_event(self, event: dict[str, Any]) -> None:
        kind = event["type"]
        if kind == "session.update":
            settings = updated(self.settings, event, SETTINGS, DEFAULTS)
            whole_number(settings, "sample_rate", 8_000, 48_000)
            whole_number(settings, "segment_seconds", 1, 30)
            self.settings = settings
            await self.session.confirm(settings)
        elif kind == "input_audio.commit":
            rest = self.buffer.rest()
            if rest:
                await self._queue_segment(rest)
            await self.session.queue(self._done)
        else:
            raise unknown_event(kind, "session.update, input_audio.commit, and binary audio")

    async def on_audio(self, data: bytes) -> None:
        required(self.settings, "model", "before sending audio")
        size = self.settings["sample_rate"] * SAMPLE_BYTES * self.settings["segment_seconds"]
        for segment in self.buffer.add(data, size):
            await self._queue_segment(segment)

    async def _queue_segment(self, pcm: bytes) -> None:
        settings = dict(self.settings)

        async def hear() -> None:
            await self.session.send_event(
                "transcript.delta", **await self.transcriber.hear(pcm, settings)
            )

        await self.session.queue(hear)

    async def _done(self) -> None:
        text, usage = self.transcriber.totals()
        await self.session.send_event("transcript.done", text=text, usage=usage)
