"""Identifiers that leave the process: request ids and response ids."""

from __future__ import annotations

import os


def request_id() -> str:
    return "req_" + os.urandom(12).hex()
