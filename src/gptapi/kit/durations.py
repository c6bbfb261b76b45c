"""Go-style duration strings, the format of OpenAI's `x-ratelimit-reset-*` headers."""

from __future__ import annotations


def go_duration(seconds: float) -> str:
    """`0s`, `12ms`, `1.5s`, `6m0s`, `1h2m3s`: what OpenAI clients parse with time.ParseDuration."""
    if seconds <= 0:
        return "0s"
    if seconds < 1:
        return f"{max(1, round(seconds * 1000))}ms"
    whole = int(seconds)
    if whole < 60:
        text = f"{seconds:.3f}".rstrip("0").rstrip(".")
        return f"{text}s"
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h{minutes}m{secs}s" if hours else f"{minutes}m{secs}s"
