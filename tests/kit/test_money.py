from __future__ import annotations

from decimal import Decimal

import pytest

from gptapi.kit.money import dollars_to_millis, dollars_to_nanos, format_usd, token_cost


def test_seed_prices_are_exact_per_token() -> None:
    # $0.05 per 1M tokens: one token costs exactly $0.00000005.
    assert token_cost(1, dollars_to_millis("0.05")) == 50
    assert Decimal(token_cost(1, 50)) / 10**9 == Decimal("0.00000005")
    assert token_cost(1_000_000, dollars_to_millis("0.25")) == dollars_to_nanos("0.25")
    assert token_cost(3, dollars_to_millis("1.00")) == 3_000


@pytest.mark.parametrize(
    ("nanos", "places", "text"),
    [
        (150, 9, "$0.000000150"),
        (-5_000_000_000, 2, "-$5.00"),
        (28_250, 9, "$0.000028250"),
        (0, 2, "$0.00"),
    ],
)
def test_format_usd(nanos: int, places: int, text: str) -> None:
    assert format_usd(nanos, places) == text


def test_sub_nanodollar_amounts_are_refused() -> None:
    with pytest.raises(ValueError, match="precision"):
        dollars_to_nanos("0.0000000001")
    with pytest.raises(ValueError, match="precision"):
        dollars_to_millis("0.0001")
