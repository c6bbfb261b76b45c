"""Time as a dependency, so retries, expiries and throttles can be tested without sleeping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that moves only when told to; for tests."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime.now(UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)


def rfc3339(moment: datetime) -> str:
    """A UTC moment as `2026-01-15T10:02:04Z`, the one form webhook payloads and feeds use."""
    return moment.isoformat().replace("+00:00", "Z")


def parse_rfc3339(text: str) -> datetime:
    """`2026-01-15T10:02:04Z` (or with an offset) as an aware UTC datetime."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def month_start(moment: datetime) -> datetime:
    """The start of `moment`'s calendar month in UTC: spend caps and refill caps reset then."""
    return moment.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def month_label(moment: datetime) -> str:
    """`moment`'s calendar month in UTC as `2026-05`: how gateways name a key's spend month."""
    return moment.astimezone(UTC).strftime("%Y-%m")


def next_month(month: datetime) -> datetime:
    """The start of the month after `month` (itself the start of a month)."""
    return (
        month.replace(year=month.year + 1, month=1)
        if month.month == 12
        else month.replace(month=month.month + 1)
    )
