"""Identifiers that leave the process: request ids."""

from __future__ import annotations

import random


def request_id() -> str:
    # Unique, not secret: 96 bits from the module PRNG (seeded from the OS, and re-seeded in
    # forked children) avoid a system call per request.
    return f"req_{random.getrandbits(96):024x}"
