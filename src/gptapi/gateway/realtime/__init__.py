"""The WebSocket endpoints of seed 002: streaming speech, streaming transcription and a
voice agent, each a `Session` (its key, events and turns through the /v1 pipeline) driven by
the stream that speaks its protocol. The protocols are described in docs/realtime.md."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from starlette.routing import BaseRoute, WebSocketRoute
from starlette.websockets import WebSocket

from gptapi.gateway.realtime.session import Session
from gptapi.gateway.realtime.speech import SpeechStream
from gptapi.gateway.realtime.transcription import TranscriptionStream
from gptapi.gateway.realtime.voice_agent import VoiceAgent


class Stream(Protocol):
    async def on_event(self, event: dict[str, Any]) -> None: ...

    async def on_audio(self, data: bytes) -> None: ...


def _endpoint(stream: Callable[[Session], Stream]) -> Callable[[WebSocket], Any]:
    async def serve(websocket: WebSocket) -> None:
        session = await Session.open(websocket)
        if session is not None:
            handler = stream(session)
            await session.run(handler.on_event, handler.on_audio)

    return serve


routes: list[BaseRoute] = [
    WebSocketRoute("/ws/audio/speech", _endpoint(SpeechStream)),
    WebSocketRoute("/ws/audio/transcriptions", _endpoint(TranscriptionStream)),
    WebSocketRoute("/ws/voice-agent", _endpoint(VoiceAgent)),
]
