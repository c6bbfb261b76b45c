"""A session's settings, changed by `session.update` events: only the fields a session
knows, each refused with a 400 naming it otherwise (never accepted and ignored)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gptapi.gateway.errors import invalid_request


def updated(
    current: Mapping[str, Any],
    event: Mapping[str, Any],
    known: frozenset[str],
    defaults: Mapping[str, Any],
) -> dict[str, Any]:
    """`current` with the event's `session` fields set (null: back to its default, or unset)."""
    changes = event.get("session")
    if not isinstance(changes, dict):
        raise invalid_request("session.update takes a 'session' object.", param="session")
    for name in changes:
        if name not in known:
            raise invalid_request(
                f"Unknown session field '{name}'; this endpoint's are: {', '.join(sorted(known))}.",
                param=f"session.{name}",
                code="unknown_parameter",
            )
    merged = {**current, **changes}
    return {**defaults, **{name: value for name, value in merged.items() if value is not None}}


def whole_number(settings: Mapping[str, Any], name: str, low: int, high: int) -> int:
    value = settings[name]
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise invalid_request(
            f"session.{name} must be a whole number from {low} to {high}.",
            param=f"session.{name}",
            code="invalid_value",
        )
    return value


def required(settings: Mapping[str, Any], name: str, why: str) -> Any:
    if name not in settings:
        raise invalid_request(
            f"Set session.{name} with a session.update event {why}.",
            param=f"session.{name}",
            code="missing_required_parameter",
        )
    return settings[name]
