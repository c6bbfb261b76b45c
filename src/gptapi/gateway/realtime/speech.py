"""WS /ws/audio/speech: text in, as it is written, audio out a sentence at a time.

Client events: `session.update` {session: {model, voice, speed, response_format,
instructions}} (what /v1/audio/speech takes; `response_format` is `pcm` unless set),
`input_text.append` {text} and `input_text.commit` (speak what is left, then `speech.done`).
Each complete sentence is spoken as soon as its end arrives, as one /v1/audio/speech request:
its audio comes as binary frames (a whole file of the format asked for; `pcm` is 24 kHz 16-bit
mono, so sentences simply follow one another), then `speech.segment.done` {request_id, text,
usage: {characters, cost, cost_nanos}}. A sentence that fails is an `error` event naming its
request id; the session goes on.
"""

from __future__ import annotations

import re
from typing import Any

from gptapi.gateway import errors
from gptapi.gateway.openai.billing import priced
from gptapi.gateway.realtime.session import Session, unknown_event
from gptapi.gateway.realtime.settings import updated

SETTINGS = frozenset({"model", "voice", "speed", "response_format", "instructions"})
DEFAULTS = {"response_format": "pcm"}
# A sentence ends at its punctuation followed by a space, or at a line break (so "3.5" and
# "e.g." mid-word do not end one, and the last sentence waits for more text or a commit).
_END = re.compile("[.!?\u2026\u3002\uff01\uff1f]+[\"'\u201d\u2019)\\]]*(?=\\s)|\n")
# Text with no sentence end this long is spoken anyway, cut at a space (a list, a run-on).
LONGEST_SENTENCE = 400


class Sentences:
    """Text arriving in pieces, handed back a complete sentence at a time."""

    def __init__(self) -> None:
        self._text = ""

    def add(self, text: str) -> list[str]:
        self._text += text
        found: list[str] = []
        while True:
            end = _END.search(self._text)
            if end is not None:
                cut = end.end()
            elif len(self._text) > LONGEST_SENTENCE:
                space = self._text.rfind(" ", 0, LONGEST_SENTENCE)
                cut = space if space > 0 else LONGEST_SENTENCE
            else:
                return found
            sentence, self._text = self._text[:cut].strip(), self._text[cut:]
            if sentence:
                found.append(sentence)

    def rest(self) -> str:
        """What is left (no sentence end yet), emptied."""
        rest, self._text = self._text.strip(), ""
        return rest


class Speaker:
    """Sentences spoken in a session, one speech request each, with running totals."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.characters = 0
        self.cost = 0
        self.segments = 0

    async def speak(self, text: str, settings: dict[str, Any]) -> None:
        turn = await self.session.turn("/v1/audio/speech", {**settings, "input": text})
        await self.session.send_audio(turn.body)
        characters = int(turn.headers["x-request-characters"])
        self.characters += characters
        self.cost += turn.cost_nanos
        self.segments += 1
        usage = priced({"characters": characters}, turn.cost_nanos)
        await self.session.send_event(
            "speech.segment.done", request_id=turn.request_id, text=text, usage=usage
        )

    def totals(self) -> dict[str, Any]:
        """The usage since the last call, and start counting again."""
        usage = priced({"characters": self.characters}, self.cost)
        self.characters = self.cost = self.segments = 0
        return usage


class SpeechStream:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.settings: dict[str, Any] = dict(DEFAULTS)
        self.sentences = Sentences()
        self.speaker = Speaker(session)

    async def on_event(self, event: dict[str, Any]) -> None:
        kind = event["type"]
        if kind == "session.update":
            self.settings = updated(self.settings, event, SETTINGS, DEFAULTS)
            await self.session.confirm(self.settings)
        elif kind == "input_text.append":
            text = event.get("text")
            if not isinstance(text, str):
                raise errors.invalid_request(
                    "input_text.append takes a 'text' string.", param="text"
                )
            for sentence in self.sentences.add(text):
                await self._queue_sentence(sentence)
        elif kind == "input_text.commit":
            rest = self.sentences.rest()
            if rest:
                await self._queue_sentence(rest)
            await self.session.queue(self._done)
        else:
            raise unknown_event(kind, "session.update, input_text.append, input_text.commit")

    async def on_audio(self, data: bytes) -> None:
        raise errors.invalid_request(
            "This endpoint takes text (input_text.append events), not binary frames.",
            code="invalid_event",
        )

    async def _queue_sentence(self, sentence: str) -> None:
        settings = dict(self.settings)  # as they are now, whatever a later update says
        await self.session.queue(lambda: self.speaker.speak(sentence, settings))

    async def _done(self) -> None:
        segments = self.speaker.segments
        await self.session.send_event("speech.done", segments=segments, usage=self.speaker.totals())
