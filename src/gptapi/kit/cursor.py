"""Opaque keyset-pagination cursors: the sort key of the last row a page returned."""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime

# Row timestamps are all well inside this; a moment outside it is a forged cursor (and one near
# the ends of what datetime can hold cannot even be converted to UTC).
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)


class BadCursor(ValueError):
    pass


def encode(moment: datetime, row_id: object) -> str:
    raw = f"{moment.isoformat()}|{row_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str) -> tuple[datetime, str]:
    """(moment, row id as text); BadCursor for anything `encode` did not make."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        moment, separator, row_id = raw.partition("|")
        created_at = datetime.fromisoformat(moment)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise BadCursor(cursor) from None
    if not separator or created_at.tzinfo is None or not EARLIEST <= created_at < LATEST:
        raise BadCursor(cursor)
    return created_at, row_id
