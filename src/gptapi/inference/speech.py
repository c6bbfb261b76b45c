"""A local text-to-speech server for the embedded default: OpenAI's `/v1/audio/speech` over
eSpeak NG (the `espeak-ng` program, from the distribution's packages).

`python -m gptapi.inference.speech --port 8103 --alias tts-1`

It speaks the wire format the gateway forwards to any OpenAI-compatible speech server, plus
the probes the gateway's health checks read (`/health`, and `/props` with `total_slots`), so
production can point the same pool at another server. Audio is 24 kHz 16-bit mono, as
OpenAI's: `wav` and `pcm` (the same samples without the header) always; `mp3`, `flac` and
`opus` when `lame`, `flac` or `opusenc` is installed (and any of them, `aac` too, with
`ffmpeg`); another format is refused with a 400 naming `response_format`. OpenAI's voices
map to eSpeak voices (an unknown one is a 400 naming `voice`); `speed` scales the speaking
rate, within what eSpeak can do. eSpeak cannot follow `instructions`, so they are refused.
"""

from __future__ import annotations

import array
import asyncio
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from aiohttp import web

from gptapi.inference.audio_http import AudioServer, Refused, error_response, serve
from gptapi.inference.pcm import read_wav, resample, write_wav

ESPEAK = "espeak-ng"
RATE = 24_000  # samples per second of every answer, as OpenAI's
WORDS_PER_MINUTE = 175  # eSpeak's own default rate: speed 1
# eSpeak speaks no slower than 80 words a minute.
SLOWEST = 80 / WORDS_PER_MINUTE

# OpenAI's voices as eSpeak voices: English, each its own variant.
VOICES = {
    "alloy": "en-us",
    "ash": "en-us+m3",
    "ballad": "en-gb+m2",
    "coral": "en-us+f3",
    "echo": "en+m1",
    "fable": "en-gb-x-rp",
    "onyx": "en-us+m7",
    "nova": "en-us+f2",
    "sage": "en+f4",
    "shimmer": "en-us+f1",
    "verse": "en-us+m2",
    "marin": "en-us+f5",
    "cedar": "en-us+m4",
}

# Encoders of raw 24 kHz 16-bit little-endian mono samples on stdin, to stdout.
_RAW_IN = ["-f", "s16le", "-ar", str(RATE), "-ac", "1", "-i", "pipe:0"]
FFMPEG = {
    "mp3": ["-f", "mp3"],
    "flac": ["-f", "flac"],
    "opus": ["-c:a", "libopus", "-f", "ogg"],
    "aac": ["-c:a", "aac", "-f", "adts"],
}
ENCODERS = {
    "mp3": [
        *("lame", "--quiet", "-r", "-s", "24", "--bitwidth", "16", "--signed"),
        *("--little-endian", "-m", "m", "-", "-"),
    ],
    "flac": (
        "flac --silent --force-raw-format --endian=little --sign=signed --channels=1 --bps=16 "
        f"--sample-rate={RATE} -c -"
    ).split(),
    "opus": f"opusenc --quiet --raw --raw-rate {RATE} --raw-chan 1 - -".split(),
}


def encoders() -> dict[str, list[str]]:
    """The command making each format this machine can make beyond wav and pcm."""
    found: dict[str, list[str]] = {}
    if shutil.which("ffmpeg"):
        ffmpeg = ["ffmpeg", "-loglevel", "error", *_RAW_IN]
        found = {name: [*ffmpeg, *out, "pipe:1"] for name, out in FFMPEG.items()}
    for name, command in ENCODERS.items():
        if name not in found and shutil.which(command[0]):
            found[name] = command
    return found


class SpeechServer(AudioServer):
    engine = ESPEAK
    path = "/v1/audio/speech"

    def __init__(self, aliases: list[str], slots: int) -> None:
        super().__init__(aliases, slots)
        self.encoders = encoders()
        self._busy = asyncio.Semaphore(slots)

    def props_extra(self) -> dict[str, Any]:
        formats = ["wav", "pcm", *sorted(self.encoders)]
        return {"speech": {"voices": sorted(VOICES), "response_formats": formats}}

    async def handle(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            return error_response(400, "The body is not JSON.", None, None)
        if not isinstance(body, dict):
            return error_response(400, "The body must be a JSON object.", None, None)
        try:
            text, voice, response_format, speed = self._read(body)
            async with self._busy:
                audio = await self._speak(text, voice, speed)
                if response_format == "pcm":
                    data, media = audio, "audio/pcm"
                elif response_format == "wav":
                    data, media = _header(audio), "audio/wav"
                else:
                    data = await _run(self.encoders[response_format], audio)
                    media = f"audio/{'mpeg' if response_format == 'mp3' else response_format}"
        except Refused as exc:
            return error_response(400, str(exc), exc.param, exc.code)
        except RuntimeError as exc:
            return error_response(500, str(exc), None, None)
        return web.Response(body=data, content_type=media)

    def _read(self, body: dict[str, Any]) -> tuple[str, str, str, float]:
        text = body.get("input")
        if not isinstance(text, str) or not text.strip():
            raise Refused("'input' must be a non-empty string.", "input")
        if body.get("instructions"):
            raise Refused(
                "This engine cannot follow instructions; send the text alone.",
                "instructions",
                "unsupported_parameter",
            )
        voice = body.get("voice")
        if not isinstance(voice, str) or voice not in VOICES:
            raise Refused(f"Unknown voice {voice!r}: one of {', '.join(sorted(VOICES))}.", "voice")
        response_format = body.get("response_format", "mp3")
        if response_format not in ("wav", "pcm", *self.encoders):
            made = ", ".join(["wav", "pcm", *sorted(self.encoders)])
            raise Refused(
                f"response_format {response_format!r} is not available here: {made}.",
                "response_format",
                "unsupported_value",
            )
        speed = body.get("speed", 1.0)
        if isinstance(speed, bool) or not isinstance(speed, int | float) or not 0.25 <= speed <= 4:
            raise Refused("'speed' must be a number from 0.25 to 4.", "speed")
        if speed < SLOWEST:
            raise Refused(
                f"This engine speaks at {SLOWEST:.2f} to 4 times its normal rate.", "speed"
            )
        return text, VOICES[voice], response_format, float(speed)

    async def _speak(self, text: str, voice: str, speed: float) -> bytes:
        """24 kHz 16-bit mono samples of `text` spoken."""
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "speech.wav"
            # The text goes on stdin, never as an argument eSpeak could read as an option;
            # the WAV goes to a file, whose header (unlike stdout's) gives its true length.
            rate = round(WORDS_PER_MINUTE * speed)
            command = [ESPEAK, "-v", voice, "-s", str(rate), "-w", str(path), "--stdin"]
            await _run(command, text.encode())
            samples, source_rate = read_wav(path.read_bytes())
        out = await asyncio.to_thread(resample, samples, source_rate, RATE)
        return write_wav(out, RATE)[HEADER_BYTES:]


# What `write_wav` puts before the samples: pcm is the wav answer without it.
HEADER_BYTES = 44


def _header(samples: bytes) -> bytes:
    return write_wav(array.array("h", samples), RATE)


async def _run(command: list[str], stdin: bytes) -> bytes:
    process = await asyncio.create_subprocess_exec(
        *command,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate(stdin)
    if process.returncode != 0:
        raise RuntimeError(f"{command[0]} failed ({process.returncode}): {err.decode()[:300]}")
    return out


def _check_engine() -> None:
    if shutil.which(ESPEAK) is None:
        sys.exit(f"{ESPEAK} is not installed (apt-get install espeak-ng)")


def main(argv: list[str] | None = None) -> None:
    serve(__doc__ or "", argv, SpeechServer, kind="speech", parallel=4, check=_check_engine)


if __name__ == "__main__":
    main()
