"""WS /ws/voice-agent: a spoken conversation, speech → chat model → speech.

Client events: `session.update` {session: {model (the chat model), instructions,
max_tokens, temperature, transcription_model, language, sample_rate, speech_model, voice,
speed, response_format}}, binary frames of the user speaking (16-bit little-endian mono PCM
at `sample_rate`, 16000 unless set), `input_audio.commit` (the user has finished: answer
them), or `input_text` {text} (a typed turn instead of a spoken one).

Each answer is three kinds of request, billed each as its /v1 surface bills it: the user's
audio transcribed (`transcript.done` {request_id, text, usage}), a streamed chat completion
over the conversation so far (`response.text.delta` {request_id, delta} as it is written,
`response.text.done` {request_id, text, usage} at its end), and the reply spoken a sentence
at a time as soon as each sentence ends (binary audio, then `speech.segment.done`, as on
/ws/audio/speech), ending with `response.done` {usage: {transcription, chat, speech, cost,
cost_nanos}}. The conversation keeps the last `HISTORY` messages.
"""

from __future__ import annotations

from typing import Any

from gptapi.gateway import errors
from gptapi.gateway.openai.billing import priced
from gptapi.gateway.realtime.session import Session, unknown_event
from gptapi.gateway.realtime.settings import required, updated, whole_number
from gptapi.gateway.realtime.speech import Sentences, Speaker
from gptapi.gateway.realtime.transcription import SAMPLE_BYTES, AudioBuffer, Transcriber

SETTINGS = frozenset(
    {
        "model",
        "instructions",
        "max_tokens",
        "temperature",
        "transcription_model",
        "language",
        "sample_rate",
        "speech_model",
        "voice",
        "speed",
        "response_format",
    }
)
DEFAULTS: dict[str, Any] = {"sample_rate": 16_000, "response_format": "pcm"}
HISTORY = 20  # messages of the conversation sent with each turn (the oldest go first)
LONGEST_UTTERANCE_SECONDS = 120


class VoiceAgent:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.settings: dict[str, Any] = dict(DEFAULTS)
        self.buffer = AudioBuffer()
        self.transcriber = Transcriber(session)
        self.speaker = Speaker(session)
        self.history: list[dict[str, str]] = []

    async def on_event(self, event: dict[str, Any]) -> None:
        kind = event["type"]
        if kind == "session.update":
            settings = updated(self.settings, event, SETTINGS, DEFAULTS)
            whole_number(settings, "sample_rate", 8_000, 48_000)
            self.settings = settings
            await self.session.confirm(settings)
        elif kind == "input_audio.commit":
            audio = self.buffer.rest()
            if not audio:
                raise errors.invalid_request(
                    "No audio was sent since the last commit.", code="input_audio_buffer_empty"
                )
            await self._queue_answer(audio, None)
        elif kind == "input_text":
            text = event.get("text")
            if not isinstance(text, str) or not text.strip():
                raise errors.invalid_request("input_text takes a non-empty 'text'.", param="text")
            await self._queue_answer(None, text)
        else:
            raise unknown_event(kind, "session.update, input_audio.commit, input_text")

    async def on_audio(self, data: bytes) -> None:
        limit = LONGEST_UTTERANCE_SECONDS * self.settings["sample_rate"] * SAMPLE_BYTES
        if len(self.buffer.pcm) + len(data) > limit:
            raise errors.invalid_request(
                f"An utterance is at most {LONGEST_UTTERANCE_SECONDS} seconds: send "
                "input_audio.commit before that. This audio was dropped.",
                code="input_audio_too_long",
            )
        self.buffer.add(data, 0)

    async def _queue_answer(self, audio: bytes | None, text: str | None) -> None:
        settings = dict(self.settings)
        required(settings, "model", "before the first turn")
        required(settings, "speech_model", "before the first turn")
        required(settings, "voice", "before the first turn")
        if audio is not None:
            required(settings, "transcription_model", "before sending audio")
        await self.session.queue(lambda: self._answer(audio, text, settings))

    async def _answer(
        self, audio: bytes | None, typed: str | None, settings: dict[str, Any]
    ) -> None:
        usage: dict[str, Any] = {}
        if audio is not None:
            heard = await self.transcriber.hear(
                audio, {**settings, "model": settings["transcription_model"]}
            )
            _, usage["transcription"] = self.transcriber.totals()
            await self.session.send_event("transcript.done", **heard)
            typed = heard["text"]
        if not typed:
            await self.session.send_event("response.done", usage=_total(usage))
            return
        speech: dict[str, Any] = {"model": settings["speech_model"]}
        speech |= {n: settings[n] for n in ("voice", "speed", "response_format") if n in settings}
        usage["chat"] = await self._reply(typed, settings, speech)
        if self.speaker.segments:
            usage["speech"] = self.speaker.totals()
        await self.session.send_event("response.done", usage=_total(usage))

    async def _reply(
        self, text: str, settings: dict[str, Any], speech: dict[str, Any]
    ) -> dict[str, Any]:
        """The chat model's reply, streamed: each sentence spoken as soon as it is written.
        Its usage."""
        user = {"role": "user", "content": text}
        system = (
            [{"role": "system", "content": settings["instructions"]}]
            if "instructions" in settings
            else []
        )
        body: dict[str, Any] = {
            "model": settings["model"],
            "messages": [*system, *self.history[-HISTORY:], user],
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        for name in ("max_tokens", "temperature"):
            if name in settings:
                body[name] = settings[name]
        request_id, events = await self.session.streamed_turn("/v1/chat/completions", body)
        reply, usage, sentences = "", None, Sentences()
        async for event in events:
            if "error" in event:  # the stream broke after it began
                raise errors.upstream_failed()
            usage = event.get("usage") or usage
            for choice in event.get("choices") or ():
                delta = (choice.get("delta") or {}).get("content") or ""
                if not delta:
                    continue
                reply += delta
                await self.session.send_event(
                    "response.text.delta", request_id=request_id, delta=delta
                )
                for sentence in sentences.add(delta):
                    await self.speaker.speak(sentence, speech)
        if usage is None:
            raise errors.upstream_failed()
        reply = reply.strip()
        self.history += [user, {"role": "assistant", "content": reply}]
        await self.session.send_event(
            "response.text.done", request_id=request_id, text=reply, usage=usage
        )
        rest = sentences.rest()
        if rest:
            await self.speaker.speak(rest, speech)
        return dict(usage)


def _total(parts: dict[str, Any]) -> dict[str, Any]:
    return priced(parts, sum(int(part["cost_nanos"]) for part in parts.values()))
