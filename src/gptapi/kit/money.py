"""Money is integer nano-dollars (1e-9 USD) everywhere: exact on SQLite and PostgreSQL alike.

A price per million tokens is kept in milli-dollars, which is the same number as
nano-dollars per token: $0.05 per 1M tokens is 50 milli-dollars per 1M, so one token costs
exactly 50 nano-dollars ($0.00000005). Prices are multiples of $0.001 per 1M tokens.
"""

from __future__ import annotations

from decimal import Decimal

NANOS_PER_DOLLAR = 1_000_000_000
MILLIS_PER_DOLLAR = 1_000


def token_cost(tokens: int, price_per_million_millis: int) -> int:
    """Cost in nano-dollars of `tokens` at a price in milli-dollars per million tokens."""
    return tokens * price_per_million_millis


def dollars_to_nanos(dollars: str | Decimal) -> int:
    value = Decimal(dollars) * NANOS_PER_DOLLAR
    if value != value.to_integral_value():
        raise ValueError(f"{dollars} has more precision than a nano-dollar")
    return int(value)


def dollars_to_millis(dollars: str | Decimal) -> int:
    value = Decimal(dollars) * MILLIS_PER_DOLLAR
    if value != value.to_integral_value():
        raise ValueError(f"{dollars} has more precision than a milli-dollar")
    return int(value)


def nanos_to_decimal(nanos: int) -> Decimal:
    return Decimal(nanos) / NANOS_PER_DOLLAR


def format_usd(nanos: int, places: int = 9) -> str:
    """`$1.250000000`-style text; `places` trims trailing precision for display."""
    sign = "-" if nanos < 0 else ""
    return f"{sign}${abs(nanos_to_decimal(nanos)):.{places}f}"


def millis_to_decimal(millis: int) -> Decimal:
    return Decimal(millis) / MILLIS_PER_DOLLAR
