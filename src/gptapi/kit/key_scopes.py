"""What an API key may do. `inference` is /v1; the others open `/api/orgs/{org_id}/…` routes
to the key (an account key), never more than its creator's role allows there.

Keys made before scopes existed store none and mean `inference` alone, so they work exactly
as they always did.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class Scope(StrEnum):
    INFERENCE = "inference"
    DEPLOYMENTS_READ = "deployments:read"
    DEPLOYMENTS_WRITE = "deployments:write"
    BILLING_READ = "billing:read"
    USAGE_READ = "usage:read"
    KEYS_READ = "keys:read"
    KEYS_WRITE = "keys:write"


DEFAULT_SCOPES: frozenset[Scope] = frozenset({Scope.INFERENCE})


def scopes_of(stored: Iterable[str] | None) -> frozenset[Scope]:
    """A key's scopes as stored (None: made before scopes, so `inference`); names this
    version does not know are ignored rather than granted."""
    if stored is None:
        return DEFAULT_SCOPES
    known = {scope.value for scope in Scope}
    return frozenset(Scope(name) for name in stored if name in known)


def stored_form(scopes: Iterable[Scope]) -> list[str]:
    return sorted(scope.value for scope in set(scopes))
