"""Roles within an organisation and what each may do.

owner: everything, including deleting the organisation and managing owners.
admin: everything except deleting the organisation or changing owners.
developer: builds with the API — keys, usage, webhooks, deployments; cannot see billing or
manage people.
billing: pays — balance, top-ups, invoices, usage and deployments for cost control; cannot
touch keys or start deployments.
"""

from __future__ import annotations

from enum import StrEnum

from gptapi.kit.key_scopes import Scope


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
    COMPUTE_READ = "compute.read"  # deployments, their logs and metrics
    COMPUTE_WRITE = "compute.write"  # deploy, stop, start, delete (spends the balance)


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
            Capability.COMPUTE_READ,
            Capability.COMPUTE_WRITE,
        }
    ),
    Role.BILLING: frozenset(
        _EVERYONE
        | {
            Capability.BILLING_READ,
            Capability.BILLING_WRITE,
            Capability.USAGE_READ,
            Capability.COMPUTE_READ,
        }
    ),
}


# The scope an API key needs for a capability; a capability absent here is for people only
# (members, organisation settings, webhooks, audit log, paying).
_KEY_SCOPES: dict[Capability, Scope] = {
    Capability.COMPUTE_READ: Scope.DEPLOYMENTS_READ,
    Capability.COMPUTE_WRITE: Scope.DEPLOYMENTS_WRITE,
    Capability.BILLING_READ: Scope.BILLING_READ,
    Capability.USAGE_READ: Scope.USAGE_READ,
    Capability.KEYS_READ: Scope.KEYS_READ,
    Capability.KEYS_WRITE: Scope.KEYS_WRITE,
}


def scope_for(capability: Capability) -> Scope | None:
    return _KEY_SCOPES.get(capability)


def allows(role: str, capability: Capability) -> bool:
    try:
        return capability in ROLE_CAPABILITIES[Role(role)]
    except ValueError:
        return False
