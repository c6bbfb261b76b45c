from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta, timezone

import pytest

from gptapi.kit import cursor


def test_a_cursor_round_trips() -> None:
    moment = datetime(2026, 3, 1, 12, 30, 0, 123456, tzinfo=UTC)
    assert cursor.decode(cursor.encode(moment, 42)) == (moment, "42")
    assert cursor.decode(cursor.encode(moment, "a|b")) == (moment, "a|b")


@pytest.mark.parametrize(
    "forged",
    [
        "",
        "not base64 at all!",
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
        base64.urlsafe_b64encode(b"2026-03-01T00:00:00+00:00").decode(),  # no id
        base64.urlsafe_b64encode(b"2026-03-01T00:00:00|1").decode(),  # no time zone
        cursor.encode(datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=5))), 1),
        cursor.encode(datetime(9999, 12, 31, 23, 59, tzinfo=timezone(timedelta(hours=-5))), 1),
    ],
)
def test_forged_cursors_are_refused(forged: str) -> None:
    with pytest.raises(cursor.BadCursor):
        cursor.decode(forged)
