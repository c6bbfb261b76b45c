"""Progress lines on stderr-free stdout, flushed at once, with the elapsed time."""

from __future__ import annotations

import time

_START = time.monotonic()


def step(message: str) -> None:
    print(f"[{time.monotonic() - _START:6.1f}s] {message}", flush=True)
