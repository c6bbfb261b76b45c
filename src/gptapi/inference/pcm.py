"""16-bit PCM samples as the local audio servers handle them: WAV in and out, mono, and
resampled to the rate an engine works at (linear interpolation, in pure Python: the clips
are short and no numerical library is a dependency)."""

from __future__ import annotations

import array
import io
import sys
import wave


class UnreadableAudio(ValueError):
    pass


def resample(samples: array.array[int], rate: int, target: int) -> array.array[int]:
    if rate == target or not samples:
        return samples
    count = len(samples) * target // rate
    step = rate / target
    last = len(samples) - 1
    out = array.array("h", bytes(2 * count))
    for i in range(count):
        position = i * step
        j = int(position)
        k = min(j + 1, last)
        out[i] = int(samples[j] + (samples[k] - samples[j]) * (position - j))
    return out


def read_wav(data: bytes) -> tuple[array.array[int], int]:
    """(mono 16-bit samples, their rate) of a PCM WAV file; `UnreadableAudio` otherwise."""
    try:
        with wave.open(io.BytesIO(data), "rb") as reader:
            channels, width, rate = (
                reader.getnchannels(),
                reader.getsampwidth(),
                reader.getframerate(),
            )
            frames = reader.readframes(reader.getnframes())
    except (wave.Error, EOFError) as exc:
        raise UnreadableAudio(f"not a PCM WAV file: {exc}") from None
    if width != 2:
        raise UnreadableAudio(f"{8 * width}-bit samples: 16-bit PCM WAV only")
    samples = array.array("h")
    samples.frombytes(frames[: len(frames) - len(frames) % (2 * channels)])
    if sys.byteorder == "big":
        samples.byteswap()
    if channels > 1:
        mixed = array.array("h", bytes(2 * (len(samples) // channels)))
        for i in range(len(mixed)):
            frame = samples[i * channels : (i + 1) * channels]
            mixed[i] = sum(frame) // channels
        samples = mixed
    return samples, rate


def write_wav(samples: array.array[int], rate: int) -> bytes:
    if sys.byteorder == "big":
        samples = array.array("h", samples)
        samples.byteswap()
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(samples.tobytes())
    return buffer.getvalue()
