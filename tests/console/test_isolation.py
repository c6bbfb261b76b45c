"""Tenant isolation and roles, for every /api route, found in the OpenAPI document.

Routes are discovered at run time, so an endpoint added later is covered without touching
this file. For each route that names an organisation or another tenant's resource in its
path, a member of organisation A calls it with organisation B's id, and with A's own id but
B's resource: the answer is 404 (never 403, never data) and none of B's rows change.
The role matrix then checks, for every organisation route and every role, that a denial
(403) happens exactly when `ROLE_CAPABILITIES` says it should.

To cover a new kind of resource, add one line to `KINDS`: the path parameter that names it
and a function that gives organisation B one of them.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import Table, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.admin import service
from gptapi.console.auth.sessions import hash_token
from gptapi.console.permissions import ROLE_CAPABILITIES, Role
from gptapi.kit.money import dollars_to_nanos
from gptapi.models import (
    Base,
    CryptoCharge,
    Membership,
    Organization,
    StripePayment,
    User,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from tests.support.compute import add_deployment, add_pod
from tests.support.console import Member, sign_in
from tests.support.platform import Platform

# Operator and public routes: not tenant data (the operator routes have their own tests).
PLATFORM_WIDE = ("/api/admin/", "/api/status/")
# Path parameters that are not ids, and a valid value for each.
FIXED = {"month": "2026-01", "provider": "github"}
METHODS = ("get", "post", "put", "patch", "delete")


# ------------------------------------------------------------------ organisation B's things


@dataclass
class Tenant:
    owner: Member
    ids: dict[tuple[str, str], str]  # (path parameter, route prefix) → B's resource id


def _api_key(platform: Platform, b: Member, ids: dict[str, str]) -> str:
    # Written directly: the API's api_key.created event would be picked up by the webhook
    # worker mid-test, and B's rows must stay still.
    async def work(session: AsyncSession) -> str:
        organization = await session.get(Organization, b.org_id)
        user = await session.get(User, b.user_id)
        assert organization is not None and user is not None
        key, _ = await service.create_key(session, organization, user, name="b's key")
        return str(key.id)

    return platform.run(work)


def _member(platform: Platform, b: Member, ids: dict[str, str]) -> str:
    colleague = sign_in(platform, org_id=b.org_id, role="developer")
    colleague.client.close()
    return str(colleague.user_id)


def _invitation(platform: Platform, b: Member, ids: dict[str, str]) -> str:
    response = b.client.post(
        f"/api/orgs/{b.org_id}/invitations",
        json={"email": f"b-invitee-{uuid.uuid4().hex[:6]}@example.com", "role": "developer"},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _webhook_endpoint(platform: Platform, b: Member, ids: dict[str, str]) -> str:
    # Written directly (the API resolves the URL, and tests have no DNS); disabled, so no
    # delivery worker touches it while the test runs.
    async def work(session: AsyncSession) -> str:
        endpoint = WebhookEndpoint(
            organization_id=b.org_id,
            url="https://hooks.b.example/receive",
            event_types=["payment.failed"],
            enabled=False,
            secret="whsec_" + "A" * 32,
        )
        session.add(endpoint)
        await session.flush()
        return str(endpoint.id)

    return platform.run(work)


def _webhook_delivery(platform: Platform, b: Member, ids: dict[str, str]) -> str:
    async def work(session: AsyncSession) -> str:
        event = WebhookEvent(
            organization_id=b.org_id, event_type="payment.failed", data={}, fanned_out=True
        )
        session.add(event)
        await session.flush()
        delivery = WebhookDelivery(
            endpoint_id=uuid.UUID(ids["endpoint_id"]),
            event_id=event.id,
            status="failed",
            attempts=1,
            next_attempt_at=None,
        )
        session.add(delivery)
        await session.flush()
        return str(delivery.id)

    return platform.run(work)


def _checkout_session(platform: Platform, b: Member, ids: dict[str, str]) -> str:
    session_id = f"cs_test_{uuid.uuid4().hex}"

    async def work(session: AsyncSession) -> None:
        session.add(
            StripePayment(
                organization_id=b.org_id,
                kind="topup",
                checkout_session_id=session_id,
                amount_cents=1000,
                status="expired",
            )
        )

    platform.run(work)
    return session_id


def _paid_payment(platform: Platform, b: Member, ids: dict[str, str]) -> str:
    async def work(session: AsyncSession) -> int:
        payment = StripePayment(
            organization_id=b.org_id,
            kind="topup",
            checkout_session_id=f"cs_test_{uuid.uuid4().hex}",
            amount_cents=1000,
            status="paid",
        )
        session.add(payment)
        await session.flush()
        return payment.id

    return str(platform.run(work))


def _crypto_charge(platform: Platform, b: Member, ids: dict[str, str]) -> str:
    charge_id = str(uuid.uuid4())

    async def work(session: AsyncSession) -> None:
        session.add(
            CryptoCharge(
                organization_id=b.org_id,
                charge_id=charge_id,
                code="B0B5CAFE",
                amount_cents=1000,
                credited_cents=1000,
                status="confirmed",
            )
        )

    platform.run(work)
    return charge_id


def _browser_session(platform: Platform, b: Member, ids: dict[str, str]) -> str:
    token = b.client.http.cookies.get("gptapi_session")
    assert token
    return hash_token(token)


def _deployment(platform: Platform, b: Member, ids: dict[str, str]) -> str:
    # Stopped, so the compute worker leaves it (and B's rows) alone during the test.
    async def work(session: AsyncSession) -> str:
        return await add_deployment(
            session,
            b.org_id,
            name="b-bot",
            slug="smollm2-135m",
            provider="local",
            state="stopped",
            price_nanos_per_hour=50_000_000,
        )

    return platform.run(work)


def _pod(platform: Platform, b: Member, ids: dict[str, str]) -> str:
    # Stopped, so the compute worker leaves it (and B's rows) alone during the test.
    async def work(session: AsyncSession) -> str:
        return await add_pod(session, b.org_id, name="b-pod", state="stopped")

    return platform.run(work)


@dataclass(frozen=True)
class Kind:
    param: str
    seed: Callable[[Platform, Member, dict[str, str]], str]
    under: str = "/api/orgs/{org_id}/"  # the routes where `param` names this kind


# In dependency order: a seeder may use the ids seeded before it (by parameter name).
KINDS = [
    Kind("key_id", _api_key),
    Kind("user_id", _member),
    Kind("invitation_id", _invitation),
    Kind("endpoint_id", _webhook_endpoint),
    Kind("delivery_id", _webhook_delivery),
    Kind("session_id", _checkout_session, under="/api/orgs/{org_id}/billing/"),
    Kind("charge_id", _crypto_charge, under="/api/orgs/{org_id}/billing/"),
    Kind("payment_id", _paid_payment, under="/api/orgs/{org_id}/billing/"),
    Kind("session_id", _browser_session, under="/api/auth/sessions/"),
    Kind("deployment_id", _deployment),
    Kind("pod_id", _pod),
]


def _kind_for(path: str, param: str) -> Kind | None:
    matches = [k for k in KINDS if k.param == param and path.startswith(k.under)]
    return max(matches, key=lambda k: len(k.under), default=None)


@pytest.fixture(scope="module")
def tenant_b(console: Platform) -> Iterator[Tenant]:
    b = sign_in(console)
    seeded: dict[str, str] = {}
    ids: dict[tuple[str, str], str] = {}
    for kind in KINDS:
        value = kind.seed(console, b, seeded)
        seeded.setdefault(kind.param, value)
        ids[(kind.param, kind.under)] = value
    yield Tenant(b, ids)
    b.client.close()


@pytest.fixture(scope="module")
def tenant_a(console: Platform) -> Iterator[Member]:
    a = sign_in(console)
    yield a
    a.client.close()


# ------------------------------------------------------------------ the routes


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    params: tuple[str, ...]  # path parameters
    spec: dict[str, Any]

    def __str__(self) -> str:
        return f"{self.method.upper()} {self.path}"


def _document(platform: Platform) -> dict[str, Any]:
    document: dict[str, Any] = httpx.get(f"{platform.url}/api/openapi.json").json()
    return document


def _operations(document: dict[str, Any]) -> list[Operation]:
    found = []
    for path, item in document["paths"].items():
        if path.startswith(PLATFORM_WIDE):
            continue
        for method in METHODS:
            if method in item:
                params = tuple(re.findall(r"{(\w+)}", path))
                found.append(Operation(method, path, params, item[method]))
    return found


def _scoped(document: dict[str, Any]) -> list[Operation]:
    """Routes that name a tenant's organisation or resource in their path."""
    return [
        op
        for op in _operations(document)
        if "org_id" in op.params or any(_kind_for(op.path, p) for p in op.params)
    ]


def _url(op: Operation, values: dict[str, str]) -> str:
    return re.sub(r"{(\w+)}", lambda m: values[m.group(1)], op.path)


def _values(op: Operation, org_id: str, resources: Callable[[str], str]) -> dict[str, str]:
    values = {"org_id": org_id}
    for param in op.params:
        if param in FIXED:
            values[param] = FIXED[param]
        elif param != "org_id":
            values[param] = resources(param)
    return values


# ------------------------------------------------------------------ valid example requests


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = document["components"]["schemas"][name]
    for union in ("anyOf", "oneOf"):
        if union in schema:
            options = [s for s in schema[union] if s.get("type") != "null"]
            return _resolve(document, options[0])
    return schema


def _example(document: dict[str, Any], schema: dict[str, Any]) -> Any:
    """A value the schema accepts: what a well-behaved client would send."""
    schema = _resolve(document, schema)
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type", "object")
    if kind == "object":
        return {
            name: _example(document, sub)
            for name, sub in schema.get("properties", {}).items()
            if name in schema.get("required", [])
        }
    if kind == "array":
        return [_example(document, schema["items"])] * schema.get("minItems", 0)
    if kind == "integer" or kind == "number":
        return max(schema.get("minimum", 1), schema.get("exclusiveMinimum", 0) + 1)
    if kind == "boolean":
        return True
    return {
        "email": "someone@example.com",
        "uri": "https://example.com/hook",
        "date-time": (datetime.now(UTC) + timedelta(days=1)).isoformat(),
        "uuid": str(uuid.uuid4()),
    }.get(schema.get("format", ""), "x" * max(1, schema.get("minLength", 1)))


def _call(
    client: Any, document: dict[str, Any], op: Operation, values: dict[str, str]
) -> httpx.Response:
    kwargs: dict[str, Any] = {}
    body = op.spec.get("requestBody", {}).get("content", {}).get("application/json")
    if body is not None:
        kwargs["json"] = _example(document, body["schema"])
    query = {
        p["name"]: _example(document, p["schema"])
        for p in op.spec.get("parameters", [])
        if p["in"] == "query" and p.get("required")
    }
    if query:
        kwargs["params"] = query
    response: httpx.Response = client.request(op.method.upper(), _url(op, values), **kwargs)
    return response


# ------------------------------------------------------------------ what B owns, row by row


def _rows_of(platform: Platform, org_id: uuid.UUID, user_ids: set[uuid.UUID]) -> dict[str, Any]:
    """Every row that belongs to organisation B or its people, found through foreign keys."""

    async def work(session: AsyncSession) -> dict[str, Any]:
        owned: dict[str, set[Any]] = {"organizations": {org_id}, "users": set(user_ids)}
        snapshot: dict[str, Any] = {}
        for table in Base.metadata.sorted_tables:
            rows = await _owned_rows(session, table, owned)
            if rows:
                snapshot[table.name] = rows
                pk = list(table.primary_key.columns)
                if len(pk) == 1:
                    owned.setdefault(table.name, set()).update(r[pk[0].name] for r in rows)
        return snapshot

    return platform.run(work)


async def _owned_rows(
    session: AsyncSession, table: Table, owned: dict[str, set[Any]]
) -> list[dict[str, Any]]:
    conditions = [
        fk.parent.in_(owned[fk.column.table.name])
        for fk in table.foreign_keys
        if owned.get(fk.column.table.name)
    ]
    if table.name in ("organizations", "users"):
        conditions.append(table.c.id.in_(owned[table.name]))
    if not conditions:
        return []
    result = await session.execute(select(table).where(or_(*conditions)))
    return sorted((dict(row._mapping) for row in result), key=repr)


def _b_people(platform: Platform, org_id: uuid.UUID) -> set[uuid.UUID]:
    async def work(session: AsyncSession) -> set[uuid.UUID]:
        rows = await session.scalars(
            select(Membership.user_id).where(Membership.organization_id == org_id)
        )
        return set(rows)

    return platform.run(work)


# ------------------------------------------------------------------ the isolation tests


def test_every_id_in_a_path_is_a_seeded_kind(console: Platform) -> None:
    """A new route naming a new kind of resource needs a line in KINDS to be covered."""
    document = _document(console)
    unseeded = {
        f"{op} ({param})"
        for op in _operations(document)
        for param in op.params
        if param.endswith("_id") and param != "org_id" and _kind_for(op.path, param) is None
    }
    assert not unseeded, f"add these to KINDS: {sorted(unseeded)}"


def test_another_tenants_resources_are_not_found(
    console: Platform, tenant_a: Member, tenant_b: Tenant
) -> None:
    document = _document(console)
    b = tenant_b.owner
    people = _b_people(console, b.org_id)
    before = _rows_of(console, b.org_id, people)

    def b_resource(op: Operation) -> Callable[[str], str]:
        def pick(param: str) -> str:
            kind = _kind_for(op.path, param)
            assert kind is not None, f"{op}: no seeded kind for {param}"
            return tenant_b.ids[(kind.param, kind.under)]

        return pick

    failures = []
    for op in _scoped(document):
        attempts = []
        if "org_id" in op.params:
            attempts.append(("B's organization", _values(op, str(b.org_id), b_resource(op))))
        if any(p not in ("org_id", *FIXED) for p in op.params):
            attempts.append(("B's resource", _values(op, str(tenant_a.org_id), b_resource(op))))
        for label, values in attempts:
            response = _call(tenant_a.client, document, op, values)
            if response.status_code != 404 or response.json()["error"]["code"] != "not_found":
                failures.append(f"{op} with {label}: {response.status_code} {response.text[:200]}")
    after = _rows_of(console, b.org_id, people)
    changed = sorted(t for t in before.keys() | after.keys() if before.get(t) != after.get(t))
    if changed:
        failures.append(f"organization B's rows changed in: {', '.join(changed)}")
    assert not failures, "\n".join(failures)


def test_the_suite_covers_the_routes_it_should(console: Platform) -> None:
    paths = {op.path for op in _scoped(_document(console))}
    for expected in [
        "/api/orgs/{org_id}",
        "/api/orgs/{org_id}/members/{user_id}",
        "/api/orgs/{org_id}/invitations/{invitation_id}",
        "/api/orgs/{org_id}/keys/{key_id}/revoke",
        "/api/orgs/{org_id}/audit-log",
    ]:
        assert expected in paths


# ------------------------------------------------------------------ the role matrix


DENIAL = re.compile(r"does not allow ([a-z_]+(?:\.[a-z_]+)*)")


@pytest.fixture(scope="module")
def roles(console: Platform) -> Iterator[dict[Role, Member]]:
    """One member of each role in one shared organisation, which holds a balance (so even
    its owner's DELETE stops at 409)."""
    owner = sign_in(console)
    org_id = uuid.UUID(owner.client.post("/api/orgs", json={"name": "Roles"}).json()["id"])

    async def fund(session: AsyncSession) -> None:
        organization = await session.get(Organization, org_id)
        assert organization is not None
        await service.grant_credit(session, organization, dollars_to_nanos("1"), reason="test")

    console.run(fund)
    members = {Role.OWNER: Member(owner.client, owner.user_id, owner.email, org_id)}
    for role in (Role.ADMIN, Role.DEVELOPER, Role.BILLING):
        members[role] = sign_in(console, org_id=org_id, role=role.value)
    yield members
    for member in members.values():
        member.client.close()


def _probe(client: Any, op: Operation, org_id: uuid.UUID) -> httpx.Response:
    """The route in the member's own organisation with ids that exist nowhere and a body
    that is not an object: the role check runs first, and an allowed call stops right
    after it (404, 422, or 409 for the funded organisation's DELETE)."""
    values = {p: FIXED.get(p, str(uuid.uuid4())) for p in op.params}
    values["org_id"] = str(org_id)
    kwargs: dict[str, Any] = {}
    if "requestBody" in op.spec:
        kwargs["content"] = b'"not an object"'
        kwargs["headers"] = {"content-type": "application/json"}
    response: httpx.Response = client.request(op.method.upper(), _url(op, values), **kwargs)
    return response


def test_roles_are_enforced_as_role_capabilities_says(
    console: Platform, roles: dict[Role, Member]
) -> None:
    document = _document(console)
    org_id = roles[Role.OWNER].org_id
    denied: dict[str, dict[Role, str]] = {}
    for op in _scoped(document):
        if "org_id" not in op.params:
            continue
        for role, member in roles.items():
            response = _probe(member.client, op, org_id)
            assert response.status_code != 500, (str(op), role, response.text)
            if response.status_code == 403:
                error = response.json()["error"]
                assert error["code"] == "permission_denied", (str(op), role, error)
                match = DENIAL.search(error["message"])
                assert match, (str(op), error)
                denied.setdefault(str(op), {})[role] = match.group(1)

    failures = []
    for op in _scoped(document):
        if "org_id" not in op.params or str(op) not in denied:
            continue
        needed = set(denied[str(op)].values())
        if len(needed) != 1:
            failures.append(f"{op}: denied for different capabilities {needed}")
            continue
        capability = needed.pop()
        expected = {r for r in roles if capability not in ROLE_CAPABILITIES[r]}
        if set(denied[str(op)]) != expected:
            failures.append(
                f"{op} needs {capability}: denied {set(denied[str(op)])}, expected {expected}"
            )
    assert not failures, "\n".join(failures)

    def denied_to(role: Role, method: str, path: str) -> bool:
        return role in denied.get(f"{method} {path}", {})

    assert denied_to(Role.DEVELOPER, "GET", "/api/orgs/{org_id}/billing")
    assert denied_to(Role.DEVELOPER, "PATCH", "/api/orgs/{org_id}/members/{user_id}")
    assert denied_to(Role.DEVELOPER, "POST", "/api/orgs/{org_id}/invitations")
    assert denied_to(Role.BILLING, "POST", "/api/orgs/{org_id}/keys")
    assert denied_to(Role.BILLING, "GET", "/api/orgs/{org_id}/keys")
    assert denied_to(Role.ADMIN, "DELETE", "/api/orgs/{org_id}")
    assert denied_to(Role.DEVELOPER, "GET", "/api/orgs/{org_id}/audit-log")
    assert not any(Role.OWNER in roles_ for roles_ in denied.values())
