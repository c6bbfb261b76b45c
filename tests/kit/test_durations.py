from __future__ import annotations

import pytest

from gptapi.kit.durations import go_duration


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (0.0004, "1ms"),
        (0.012, "12ms"),
        (1, "1s"),
        (1.5, "1.5s"),
        (59.9991, "59.999s"),
        (60, "1m0s"),
        (360, "6m0s"),
        (3723, "1h2m3s"),
    ],
)
def test_go_duration(seconds: float, text: str) -> None:
    assert go_duration(seconds) == text
