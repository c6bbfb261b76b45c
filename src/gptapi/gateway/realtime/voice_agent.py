"""WS /ws/voice-agent: a spoken conversation, speech → chat model → speech.

Client events: `session.update` {session: {model (the chat model), instructions,
max_tokens, temperature, transcription_model, language, sample_rate, speech_model, voice,
speed, response_format}}, binary frames of the user speaking (16-bit little-endian mono PCM
at `sample_rate`, 16000 unless set), `input_audio.commit` (the user has finished: answer
them), or `input_text` {text} (a typed turn instead of a spoken one).

Each answer is three kinds of request, billed each as its /v1 surface bills it: the user's
audio transcribed (`transcript.done` {request_id, text, usage}), a chat completion over the
conversation so far (`response.text.done` {request_id, text, usage}), and the reply spoken a
sentence at a time (binary audio, then `speech.segment.done` per sentence, as on
/ws/audio/speech), ending with `response.done` {usage: {transcription, chat, speech, cost,
cost_nanos}}. The conversation keeps the last `HISTORY` messages.
"""

from __future__ import annotations

from typing import Any

from gptapi.gateway import errors
from gptapi.gateway.openai.billing import priced
from gptapi.gateway.realtime.session import Session
from gptapi.gateway.realtime.settings import required, updated, whole_number
from gptapi.gateway.realtime.speech import Sentences, Speaker, unknown_event
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
            settings = {**DEFAULTS, **updated(self.settings, event, SETTINGS)}
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
        reply, usage["chat"] = await self._reply(typed, settings)
        if reply:
            speech: dict[str, Any] = {"model": settings["speech_model"]}
            speech |= {
                n: settings[n] for n in ("voice", "speed", "response_format") if n in settings
            }
            sentences = Sentences()
            for sentence in [*sentences.add(reply), sentences.rest()]:
                if sentence:
                    await self.speaker.speak(sentence, speech)
            usage["speech"] = self.speaker.totals()
        await self.session.send_event("response.done", usage=_total(usage))

    async def _reply(self, text: str, settings: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        user = {"role": "user", "content": text}
        system = (
            [{"role": "system", "content": settings["instructions"]}]
            if "instructions" in settings
            else []
        )
        body: dict[str, Any] = {
            "model": settings["model"],
            "messages": [*system, *self.history[-HISTORY:], user],
        }
        for name in ("max_tokens", "temperature"):
            if name in settings:
                body[name] = settings[name]
        turn = await self.session.turn("/v1/chat/completions", body)
        answer = turn.json()
        reply: str = (answer["choices"][0]["message"].get("content") or "").strip()
        self.history += [user, {"role": "assistant", "content": reply}]
        await self.session.send_event(
            "response.text.done", request_id=turn.request_id, text=reply, usage=answer["usage"]
        )
        return reply, answer["usage"]


def _total(parts: dict[str, Any]) -> dict[str, Any]:
    return priced(parts, sum(int(part["cost_nanos"]) for part in parts.values()))
