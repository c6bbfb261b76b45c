"""`gptapi admin`: operator tasks, so the gateway is usable before any web console."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import InvalidOperation
from typing import Annotated, TypeVar

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.admin import service
from gptapi.admin.service import AdminError
from gptapi.cli import output
from gptapi.config import get_settings
from gptapi.gateway.announcements import CATALOG, REVOKED
from gptapi.kit.db import create_engine, session_maker
from gptapi.kit.money import dollars_to_nanos, format_usd

admin = typer.Typer(
    help="Operator tasks: users, organisations, keys, credit, servers, usage.", no_args_is_help=True
)
users = typer.Typer(help="Users.", no_args_is_help=True)
orgs = typer.Typer(help="Organisations.", no_args_is_help=True)
keys = typer.Typer(help="API keys.", no_args_is_help=True)
credit = typer.Typer(help="Credit.", no_args_is_help=True)
servers = typer.Typer(help="Upstream llama-servers.", no_args_is_help=True)
for name, group in (
    ("users", users),
    ("orgs", orgs),
    ("keys", keys),
    ("credit", credit),
    ("servers", servers),
):
    admin.add_typer(group, name=name)

T = TypeVar("T")
OrgArg = Annotated[str, typer.Argument(help="Organisation id, exact name, or a user's email.")]


def _run(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    async def main() -> T:
        engine = create_engine(get_settings().resolved_database_url)
        try:
            async with session_maker(engine)() as session, session.begin():
                return await work(session)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(main())
    except AdminError as exc:
        typer.secho(f"error: {exc}", err=True, fg="red")
        raise typer.Exit(2) from None


def _amount(text: str) -> int:
    try:
        return dollars_to_nanos(text.lstrip("$"))
    except (InvalidOperation, ValueError):
        raise typer.BadParameter(f"{text!r} is not a dollar amount like 25 or 0.50") from None


@users.command("create")
def users_create(
    email: str,
    name: Annotated[str, typer.Option(help="Display name.")] = "",
    is_admin: Annotated[bool, typer.Option("--admin", help="Platform operator.")] = False,
) -> None:
    """Create a user with a personal organisation."""

    async def work(session: AsyncSession) -> None:
        user, organization = await service.create_user(session, email, name=name, is_admin=is_admin)
        print(f"user {user.id} {user.email}; organisation {organization.id}")

    _run(work)


@orgs.command("create")
def orgs_create(name: str, owner: Annotated[str, typer.Option(help="Owner's email.")]) -> None:
    """Create an organisation owned by an existing user."""

    async def work(session: AsyncSession) -> None:
        organization = await service.create_organization(
            session, name, await service.find_user(session, owner)
        )
        print(f"organisation {organization.id} {organization.name}")

    _run(work)


@orgs.command("list")
def orgs_list() -> None:
    """Organisations with their balances."""

    async def work(session: AsyncSession) -> None:
        rows = await service.balances(session)
        output.table(
            ["id", "name", "balance", "active"],
            [
                [
                    r.organization.id,
                    r.organization.name,
                    format_usd(r.organization.balance_nanos),
                    r.organization.is_active,
                ]
                for r in rows
            ],
        )

    _run(work)


@admin.command("reconcile")
def reconcile_books() -> None:
    """Prove every organisation's books balance; exits 1 and names each difference if not."""
    # Here, not at the top: `gptapi gateway` loads this module, and never needs Stripe.
    from gptapi.billing.reconcile import reconcile

    differences = _run(reconcile)
    if not differences:
        print("books balance: every organisation's balance, ledger, payments and usage agree")
        return
    output.table(
        ["organisation", "name", "check", "expected", "actual", "difference"],
        [
            [d.organization_id, d.name, d.check, d.show(d.expected), d.show(d.actual), d.delta]
            for d in differences
        ],
    )
    raise typer.Exit(1)


@admin.command("supabase-sql")
def supabase_sql() -> None:
    """Print the schema as PostgreSQL DDL for Supabase (what scripts/001_schema.sql holds)."""
    from gptapi.kit.schema_sql import schema_sql  # Alembic: not in the gateway's memory

    print(schema_sql(), end="")


@admin.command("balances")
def balances() -> None:
    """Every organisation's balance next to the sum of its ledger."""

    async def work(session: AsyncSession) -> None:
        rows = await service.balances(session)
        output.table(
            ["organisation", "name", "balance", "ledger sum", "agrees"],
            [
                [
                    r.organization.id,
                    r.organization.name,
                    format_usd(r.organization.balance_nanos),
                    format_usd(r.ledger_sum),
                    r.ledger_sum == r.organization.balance_nanos,
                ]
                for r in rows
            ],
        )

    _run(work)


@keys.command("create")
def keys_create(
    org: OrgArg,
    name: Annotated[str, typer.Option(help="A label for the key.")] = "default",
    user: Annotated[str | None, typer.Option(help="Owner email (default: the org owner).")] = None,
    rpm: Annotated[int | None, typer.Option(help="Requests per minute (0: unlimited).")] = None,
    tpm: Annotated[int | None, typer.Option(help="Tokens per minute (0: unlimited).")] = None,
    expires_in_days: Annotated[int | None, typer.Option(min=1)] = None,
    test: Annotated[
        bool, typer.Option("--test", help="A test-mode key (gpt_test_…): never charged.")
    ] = False,
) -> None:
    """Create an API key; its secret is printed once."""

    async def work(session: AsyncSession) -> None:
        organization = await service.find_organization(session, org)
        owner = (
            await service.find_user(session, user)
            if user
            else await service.owner_of(session, organization)
        )
        expires = datetime.now(UTC) + timedelta(days=expires_in_days) if expires_in_days else None
        key, secret = await service.create_key(
            session,
            organization,
            owner,
            name=name,
            rpm_limit=rpm,
            tpm_limit=tpm,
            expires_at=expires,
            test_mode=test,
        )
        output.step(f"key {key.id} ({key.key_prefix}…) created; the secret is shown only now:")
        print(secret)

    _run(work)


@keys.command("list")
def keys_list(org: OrgArg) -> None:
    """An organisation's keys."""

    async def work(session: AsyncSession) -> None:
        rows = await service.list_keys(session, await service.find_organization(session, org))
        output.table(
            ["id", "name", "prefix", "status", "rpm", "tpm", "created", "last used"],
            [
                [
                    k.id,
                    k.name,
                    k.key_prefix,
                    "revoked" if k.revoked else "active",
                    k.rpm_limit if k.rpm_limit is not None else "default",
                    k.tpm_limit if k.tpm_limit is not None else "default",
                    f"{k.created_at:%Y-%m-%d %H:%M}",
                    f"{k.last_used_at:%Y-%m-%d %H:%M}" if k.last_used_at else "never",
                ]
                for k in rows
            ],
        )

    _run(work)


@keys.command("revoke")
def keys_revoke(key: Annotated[str, typer.Argument(help="Key id or prefix.")]) -> None:
    """Revoke a key; gateways refuse it within seconds."""

    async def work(session: AsyncSession) -> str:
        revoked = await service.revoke_key(session, key, now=datetime.now(UTC))
        print(f"revoked {revoked.id} ({revoked.key_prefix}…)")
        return revoked.key_hash

    key_hash = _run(work)
    _announce(REVOKED, [key_hash])  # committed: every gateway drops it from its cache now


def _announce(channel: str, messages: list[str]) -> None:
    """Tell every gateway process of a committed change at once, with Redis (without it,
    there is one process, which catches up at its cache TTL or periodic refresh)."""
    settings = get_settings()
    if settings.redis_url:
        from gptapi.gateway import shared  # only with Redis: its client is not a light import

        url, prefix = settings.redis_url, settings.redis_prefix
        asyncio.run(shared.announce_once(url, prefix, channel, messages))


@credit.command("grant")
def credit_grant(
    org: OrgArg,
    amount: Annotated[
        str,
        typer.Argument(
            help="Dollars, e.g. 25 or 0.50; negative debits (put -- before the arguments)."
        ),
    ],
    reason: Annotated[str, typer.Option(help="Why; kept in the ledger.")],
) -> None:
    """Add (or with a negative amount, remove) credit."""
    nanos = _amount(amount)

    async def work(session: AsyncSession) -> None:
        organization = await service.find_organization(session, org)
        await service.grant_credit(session, organization, nanos, reason=reason)
        await session.flush()
        await session.refresh(organization)
        print(
            f"{format_usd(nanos)} → {organization.name}; balance "
            f"{format_usd(organization.balance_nanos)}"
        )

    _run(work)


@admin.command("usage")
def usage(
    org: Annotated[str | None, typer.Option(help="Only this organisation.")] = None,
    days: Annotated[int, typer.Option(min=1, help="Look back this many days.")] = 30,
) -> None:
    """Requests, tokens, images and cost by model."""

    async def work(session: AsyncSession) -> None:
        organization = await service.find_organization(session, org) if org else None
        since = datetime.now(UTC) - timedelta(days=days)
        rows = await service.usage_by_model(session, organization, since)
        output.table(
            ["model", "requests", "prompt tokens", "completion tokens", "images", "cost"],
            [
                [
                    r.model,
                    r.requests,
                    r.prompt_tokens,
                    r.completion_tokens,
                    r.images,
                    format_usd(r.cost_nanos),
                ]
                for r in rows
            ],
        )

    _run(work)


@servers.command("list")
def servers_list() -> None:
    """Every upstream server by pool."""

    async def work(session: AsyncSession) -> None:
        rows = await service.list_servers(session)
        output.table(
            ["id", "model", "url", "state", "source"],
            [[s.id, s.model_name, s.base_url, s.state, s.source] for s in rows],
        )

    _run(work)


ModelOption = Annotated[str | None, typer.Option(help="Only in this model's pool.")]


@servers.command("add")
def servers_add(
    model: str,
    url: str,
    api_key: Annotated[str | None, typer.Option(help="The server's --api-key.")] = None,
) -> None:
    """Add a llama-server to a model's pool."""

    async def work(session: AsyncSession) -> None:
        server = await service.add_server(session, model, url, api_key)
        print(f"server {server.id}: {server.base_url} in {server.model_name}")

    _run(work)
    _announce_servers()


def _announce_servers() -> None:
    _announce(CATALOG, ["servers"])  # every gateway re-reads its pools now


@servers.command("drain")
def servers_drain(url: str, model: ModelOption = None) -> None:
    """Send no new requests to a server; requests in flight finish."""
    count = _run(lambda session: service.set_server_state(session, url, model, "draining"))
    print(f"draining {url} ({count} pool(s))")
    _announce_servers()


@servers.command("undrain")
def servers_undrain(url: str, model: ModelOption = None) -> None:
    """Put a drained server back into rotation."""
    count = _run(lambda session: service.set_server_state(session, url, model, "active"))
    print(f"{url} active again ({count} pool(s))")
    _announce_servers()


@servers.command("remove")
def servers_remove(url: str, model: ModelOption = None) -> None:
    """Remove a server from its pools."""
    count = _run(lambda session: service.remove_server(session, url, model))
    print(f"removed {url} ({count} pool(s))")
    _announce_servers()
