"""Roles within an organisation and what each may do.

owner: everything, including deleting the organisation and managing owners.
admin: everything except deleting the organisation or changing owners.
developer: builds with the API — keys, usage, webhooks; cannot see billing or manage people.
billing: pays — balance, top-ups, invoices, usage for cost control; cannot touch keys.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    DEVELOPER = "developer"
    BILLING = "billing"


class Capability(StrEnum):
    ORG_READ = "org.read"
    ORG_UPDATE = "org.update"
    ORG_DELETE = "org.delete"
    MEMBERS_READ = "members.read"
    MEMBERS_MANAGE = "members.manage"
    KEYS_READ = "keys.read"
    KEYS_WRITE = "keys.write"
    USAGE_READ = "usage.read"
    BILLING_READ = "billing.read"
    BILLING_WRITE = "billing.write"
    WEBHOOKS_READ = "webhooks.read"
    WEBHOOKS_WRITE = "webhooks.write"
    AUDIT_READ = "audit.read"


_EVERYONE = {Capability.ORG_READ, Capability.MEMBERS_READ}

ROLE_CAPABILITIES: dict[Role, frozenset[Capability]] = {
    Role.OWNER: frozenset(Capability),
    Role.ADMIN: frozenset(set(Capability) - {Capability.ORG_DELETE}),
    Role.DEVELOPER: frozenset(
        _EVERYONE
        | {
            Capability.KEYS_READ,
            Capability.KEYS_WRITE,
            Capability.USAGE_READ,
            Capability.WEBHOOKS_READ,
            Capability.WEBHOOKS_WRITE,
        }
    ),
    Role.BILLING: frozenset(
        _EVERYONE | {Capability.BILLING_READ, Capability.BILLING_WRITE, Capability.USAGE_READ}
    ),
}


def allows(role: str, capability: Capability) -> bool:
    try:
        return capability in ROLE_CAPABILITIES[Role(role)]
    except ValueError:
        return False
