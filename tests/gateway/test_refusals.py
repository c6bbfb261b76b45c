"""Which refused requests go into the request log: refusals only, at most the allowance per
key and minute, at zero cost with the reason as the outcome."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import cast

from gptapi.gateway import errors
from gptapi.gateway.catalog import CatalogModel
from gptapi.gateway.keys import KeyContext
from gptapi.gateway.metering import UsageEntry, UsageWriter
from gptapi.gateway.refusals import RefusalLog


class Collected:
    """Stands in for the usage writer: what would have been written."""

    def __init__(self) -> None:
        self.entries: list[UsageEntry] = []

    def submit(self, entry: UsageEntry) -> None:
        self.entries.append(entry)


def _context() -> KeyContext:
    return KeyContext(uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), 0, 0, None, None, None)


MODEL = CatalogModel(7, "gpt-fast", "gpt-oss-20B", "chat", 250, 500, "", datetime.now(UTC))


def test_refusals_are_logged_free_with_their_reason_within_an_allowance() -> None:
    now = [1000.0]
    written = Collected()
    log = RefusalLog(cast(UsageWriter, written), per_minute=2, clock=lambda: now[0])
    key, other = _context(), _context()
    started = time.perf_counter()
    for _ in range(3):
        log.note(errors.key_spend_cap_reached(), key, MODEL, "chat.completions", "r", started)
    log.note(errors.model_not_allowed("gpt-full"), other, MODEL, "chat.completions", "s", started)
    # Not a refusal: a bad request is the caller's mistake and is not logged.
    log.note(errors.invalid_request("bad"), other, MODEL, "chat.completions", "t", started)
    assert [(e.api_key_id, e.outcome, e.status, e.cost_nanos) for e in written.entries] == [
        (key.key_id, "spend_cap_reached", 429, 0),
        (key.key_id, "spend_cap_reached", 429, 0),
        (other.key_id, "model_not_allowed", 403, 0),
    ]
    assert all(e.metered_by == "refused" and e.prompt_tokens == 0 for e in written.entries)
    now[0] += 60  # a new minute, a new allowance
    log.note(errors.key_spend_cap_reached(), key, MODEL, "chat.completions", "u", started)
    assert len(written.entries) == 4
