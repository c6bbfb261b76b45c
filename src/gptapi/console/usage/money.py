"""Money as the console API returns it: integer nano-dollars and the same as a dollar string."""

from __future__ import annotations

from gptapi.kit.money import nanos_to_decimal


def usd(nanos: int) -> str:
    """Exact decimal dollars with all nine places: 1234 → "0.000001234", 0 → "0.000000000"."""
    return f"{nanos_to_decimal(nanos):.9f}"
