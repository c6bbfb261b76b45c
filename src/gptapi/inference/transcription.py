"""A local speech-to-text server for the embedded default: OpenAI's
`/v1/audio/transcriptions` over PocketSphinx, whose US English model ships inside its wheel.

`python -m gptapi.inference.transcription --port 8104 --alias whisper-1`

It takes the multipart form OpenAI's endpoint takes and answers in its formats (`json`,
`text`, `verbose_json` with segments and word timestamps, `srt`, `vtt`), plus the probes the
gateway's health checks read (`/health`, `/props` with `total_slots`), so production can
point the same pool at another OpenAI-compatible transcription server. Audio is a 16-bit PCM
WAV file of any rate and channel count (mixed to mono, resampled to 16 kHz). The engine
knows English only (`language` other than `en` is refused), cannot be steered by a `prompt`
and does not sample (`temperature` other than 0 is refused): each refusal is a 400 naming
the field.
"""

from __future__ import annotations

import asyncio
import os
import queue
import zlib
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from gptapi.inference.audio_http import AudioServer, Refused, error_response, serve
from gptapi.inference.pcm import UnreadableAudio, read_wav, resample

RATE = 16_000  # what the acoustic model was trained on
FRAMES_PER_SECOND = 100  # PocketSphinx's frame rate
FORMATS = ("json", "text", "srt", "verbose_json", "vtt")
# A pause this long (in frames) ends a segment.
SEGMENT_PAUSE = 30
# Utterance marks, pauses, and the noise dictionary's "[NOISE]", "[SPEECH]", "++…++".
FILLERS = ("<s>", "</s>", "<sil>", "<unk>")


@dataclass(frozen=True, slots=True)
class Word:
    word: str
    start: float
    end: float


class Recognizer:
    """PocketSphinx decoders, one per slot (a decoder holds one utterance at a time)."""

    def __init__(self, slots: int) -> None:
        from pocketsphinx import Decoder

        self._idle: queue.SimpleQueue[Any] = queue.SimpleQueue()
        for _ in range(slots):
            self._idle.put(Decoder(samprate=RATE, logfn=os.devnull))

    def words(self, pcm: bytes) -> list[tuple[str, int, int]]:
        """(word, first frame, last frame) of each word and pause heard; blocking."""
        decoder = self._idle.get()
        try:
            decoder.start_utt()
            decoder.process_raw(pcm, full_utt=True)
            decoder.end_utt()
            return [(seg.word, seg.start_frame, seg.end_frame) for seg in decoder.seg()]
        finally:
            self._idle.put(decoder)


def _words(heard: list[tuple[str, int, int]]) -> tuple[list[Word], list[list[Word]]]:
    """The words, and the words split into segments at long pauses."""
    words: list[Word] = []
    segments: list[list[Word]] = [[]]
    for token, first, last in heard:
        if token in FILLERS or token.startswith(("++", "[")):
            if token == "<sil>" and last - first >= SEGMENT_PAUSE and segments[-1]:
                segments.append([])
            continue
        # An alternative pronunciation is marked "word(2)".
        word = Word(token.split("(")[0], first / FRAMES_PER_SECOND, (last + 1) / FRAMES_PER_SECOND)
        words.append(word)
        segments[-1].append(word)
    return words, [s for s in segments if s]


def _stamp(seconds: float, separator: str) -> str:
    millis = round(seconds * 1000)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def _segment(index: int, words: list[Word]) -> dict[str, Any]:
    """OpenAI's TranscriptionSegment; the fields a Whisper decoder reports about its own
    decoding are what this one amounts to (greedy, no tokens of its own)."""
    text = " ".join(w.word for w in words)
    raw = text.encode()
    return {
        "id": index,
        "seek": 0,
        "start": words[0].start,
        "end": words[-1].end,
        "text": " " + text,
        "tokens": [],
        "temperature": 0.0,
        "avg_logprob": 0.0,
        "compression_ratio": len(raw) / max(1, len(zlib.compress(raw))),
        "no_speech_prob": 0.0,
    }


def render(
    response_format: str,
    words: list[Word],
    segments: list[list[Word]],
    duration: float,
    granularities: list[str],
) -> web.Response:
    text = " ".join(w.word for w in words)
    if response_format == "json":
        return web.json_response({"text": text})
    if response_format == "text":
        return web.Response(text=text + "\n", content_type="text/plain")
    if response_format == "verbose_json":
        body: dict[str, Any] = {
            "task": "transcribe",
            "language": "english",
            "duration": duration,
            "text": text,
        }
        if "segment" in granularities:
            body["segments"] = [_segment(i, s) for i, s in enumerate(segments)]
        if "word" in granularities:
            body["words"] = [{"word": w.word, "start": w.start, "end": w.end} for w in words]
        return web.json_response(body)
    separator = "," if response_format == "srt" else "."
    cues = []
    for index, segment in enumerate(segments, 1):
        times = f"{_stamp(segment[0].start, separator)} --> {_stamp(segment[-1].end, separator)}"
        line = " ".join(w.word for w in segment)
        cues.append(f"{index}\n{times}\n{line}\n" if separator == "," else f"{times}\n{line}\n")
    head = "" if separator == "," else "WEBVTT\n\n"
    return web.Response(text=head + "\n".join(cues), content_type="text/plain")


class TranscriptionServer(AudioServer):
    engine = "pocketsphinx"
    path = "/v1/audio/transcriptions"
    max_body_bytes = 64 << 20

    def __init__(self, aliases: list[str], slots: int) -> None:
        super().__init__(aliases, slots)
        self.recognizer = Recognizer(slots)

    async def handle(self, request: web.Request) -> web.Response:
        try:
            form = await request.post()
        except ValueError:
            return error_response(400, "The body is not a multipart form.", None, None)
        try:
            audio, response_format, granularities = _read(form)
            samples, rate = read_wav(audio)
        except UnreadableAudio as exc:
            return error_response(400, f"Could not read the audio: {exc}", "file", "invalid_value")
        except Refused as exc:
            return error_response(400, str(exc), exc.param, exc.code)
        duration = len(samples) / rate if rate else 0.0
        pcm = (await asyncio.to_thread(resample, samples, rate, RATE)).tobytes()
        heard = await asyncio.to_thread(self.recognizer.words, pcm)
        words, segments = _words(heard)
        return render(response_format, words, segments, duration, granularities)


def _read(form: Any) -> tuple[bytes, str, list[str]]:
    upload = form.get("file")
    if not isinstance(upload, web.FileField):
        raise Refused("'file' must be an uploaded audio file.", "file")
    language = form.get("language")
    if language not in (None, "", "en"):
        raise Refused(f"Language {language!r} is not available: en only.", "language")
    if form.get("prompt"):
        raise Refused(
            "This engine cannot be steered by a prompt.", "prompt", "unsupported_parameter"
        )
    temperature = form.get("temperature")
    try:
        if temperature not in (None, "") and float(temperature) != 0:
            raise Refused("This engine does not sample: temperature 0 only.", "temperature")
    except ValueError:
        raise Refused("'temperature' must be a number.", "temperature") from None
    response_format = form.get("response_format") or "json"
    if response_format not in FORMATS:
        raise Refused(f"response_format must be one of {', '.join(FORMATS)}.", "response_format")
    granularities = form.getall("timestamp_granularities[]", []) or ["segment"]
    return upload.file.read(), str(response_format), [str(g) for g in granularities]


def main(argv: list[str] | None = None) -> None:
    serve(__doc__ or "", argv, TranscriptionServer, kind="transcription", parallel=2)


if __name__ == "__main__":
    main()
