"""scripts/ for Supabase: the schema script is the migrations rendered, every table has row
level security, and the policies hold on a real PostgreSQL with Supabase's auth schema."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from gptapi.admin.service import create_key, grant_credit
from gptapi.kit.db import create_engine, session_maker
from gptapi.kit.schema_sql import SCHEMA_SCRIPT, schema_sql
from gptapi.models import (
    Base,
    Incident,
    IncidentUpdate,
    Membership,
    Model,
    Organization,
    Service,
    UsageLog,
    User,
)
from tests.support.databases import POSTGRES_URL

T = TypeVar("T")
ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts"
SHIM = Path(__file__).with_name("auth_shim.sql")
# Columns PostgREST must never serve, even from rows the caller may read.
SECRET_COLUMNS = {
    "users": {"password_hash", "totp_secret", "totp_last_step"},
    "api_keys": {"key_hash"},
    "webhook_endpoints": {"secret", "previous_secret"},
    "deployments": {"upstream_key"},
}
PUBLIC_TABLES = ("models", "services", "incidents", "incident_updates")


def tables() -> list[str]:
    return sorted([*Base.metadata.tables, "alembic_version"])


def test_schema_script_is_the_migrations_rendered() -> None:
    rendered = subprocess.run(
        [str(Path(sys.executable).parent / "gptapi"), "admin", "supabase-sql"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    assert rendered == schema_sql()
    assert (ROOT / SCHEMA_SCRIPT).read_text() == rendered, (
        "scripts/001_schema.sql is stale: gptapi admin supabase-sql > scripts/001_schema.sql"
    )


def test_every_table_has_row_level_security_in_the_scripts() -> None:
    script = (SCRIPTS / "002_auth_and_rls.sql").read_text()
    enabled = set(re.findall(r"alter table public\.(\w+) enable row level security;", script))
    assert set(tables()) - enabled == set(), "add these tables to scripts/002_auth_and_rls.sql"


# -- on a real PostgreSQL ------------------------------------------------------------------


def run(dsn: str, work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
    async def main() -> T:
        connection = await asyncpg.connect(dsn)
        try:
            return await work(connection)
        finally:
            await connection.close()

    return asyncio.run(main())


@pytest.fixture(scope="module")
def supabase_db() -> Iterator[str]:
    """A fresh database set up the way a Supabase project is, then our two scripts."""
    name = f"gptapi_supabase_{uuid.uuid4().hex[:12]}"
    server = make_url(POSTGRES_URL).set(drivername="postgresql")
    admin = server.render_as_string(hide_password=False)
    dsn = server.set(database=name).render_as_string(hide_password=False)
    run(admin, lambda c: c.execute(f'CREATE DATABASE "{name}"'))
    try:

        async def apply(connection: asyncpg.Connection) -> None:
            await connection.execute(SHIM.read_text())
            await connection.execute((SCRIPTS / "001_schema.sql").read_text())
            await connection.execute((SCRIPTS / "002_auth_and_rls.sql").read_text())

        run(dsn, apply)
        yield dsn
    finally:
        run(admin, lambda c: c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def sign_up(connection: asyncpg.Connection, name: str) -> uuid.UUID:
    """What Supabase Auth does on sign-up: a row in auth.users (the trigger does the rest)."""
    user_id = uuid.uuid4()
    await connection.execute(
        "insert into auth.users (id, aud, role, email, email_confirmed_at, raw_user_meta_data)"
        " values ($1, 'authenticated', 'authenticated', $2, now(), $3::jsonb)",
        user_id,
        f"{name}-{user_id.hex[:6]}@example.com",
        json.dumps({"full_name": name.title()}),
    )
    return user_id


async def as_role(
    connection: asyncpg.Connection, role: str, sub: uuid.UUID | None, query: str, *args: Any
) -> list[asyncpg.Record]:
    """One PostgREST-style request: SET LOCAL ROLE plus the JWT claims, rolled back after."""
    claims: dict[str, Any] = {"role": role, "aud": role}
    if sub is not None:
        claims["sub"] = str(sub)
    transaction = connection.transaction()
    await transaction.start()
    try:
        await connection.execute(f"set local role {role}")
        await connection.execute(
            "select set_config('request.jwt.claims', $1, true)", json.dumps(claims)
        )
        rows: list[asyncpg.Record] = await connection.fetch(query, *args)
        return rows
    finally:
        await transaction.rollback()


@pytest.fixture(scope="module")
def two_users(supabase_db: str) -> dict[str, dict[str, Any]]:
    """Alice and Bob signed up through auth.users, each with a key, a usage row and a ledger
    entry in their personal organisation (written by the app's own code, as the owner role);
    plus a public service, incident and update."""

    async def sign_up_both(c: asyncpg.Connection) -> list[uuid.UUID]:
        return [await sign_up(c, "alice"), await sign_up(c, "bob")]

    user_ids = run(supabase_db, sign_up_both)

    async def seed() -> dict[str, dict[str, Any]]:
        engine = create_engine(supabase_db.replace("postgresql://", "postgresql+asyncpg://", 1))
        try:
            async with session_maker(engine)() as session, session.begin():
                service = Service(key="api", name="API")
                session.add(service)
                await session.flush()
                incident = Incident(title="Slow", service_id=service.id)
                session.add(incident)
                await session.flush()
                session.add(
                    IncidentUpdate(
                        incident_id=incident.id,
                        description="Looking",
                        status_at_update="investigating",
                    )
                )
                model_id = await session.scalar(
                    select(Model.id).where(Model.internal_name == "gpt-fast")
                )
                assert model_id is not None
                people: dict[str, dict[str, Any]] = {}
                for name, user_id in zip(("alice", "bob"), user_ids, strict=True):
                    user = await session.get(User, user_id)
                    assert user is not None
                    organization = await session.scalar(
                        select(Organization)
                        .join(Membership, Membership.organization_id == Organization.id)
                        .where(Membership.user_id == user_id)
                    )
                    assert organization is not None
                    key, _ = await create_key(session, organization, user, name="k")
                    await grant_credit(session, organization, 5, reason="gift")
                    session.add(
                        UsageLog(
                            request_id=f"req-{key.id.hex[:8]}",
                            organization_id=organization.id,
                            api_key_id=key.id,
                            user_id=user_id,
                            model_id=model_id,
                            endpoint="chat",
                            prompt_tokens=1,
                            completion_tokens=1,
                            cost_nanos=0,
                            status=200,
                            outcome="completed",
                            metered_by="upstream",
                            latency_ms=5,
                        )
                    )
                    people[name] = {"user": user_id, "org": organization.id, "key": key.id}
                return people
        finally:
            await engine.dispose()

    return asyncio.run(seed())


def test_every_table_in_the_database_has_row_level_security(supabase_db: str) -> None:
    async def work(c: asyncpg.Connection) -> list[str]:
        rows = await c.fetch(
            "select relname from pg_class where relnamespace = 'public'::regnamespace"
            " and relkind = 'r' and not relrowsecurity order by relname"
        )
        return [r["relname"] for r in rows]

    assert run(supabase_db, work) == []


def test_sign_up_creates_profile_personal_org_and_ownership(
    supabase_db: str, two_users: dict[str, dict[str, Any]]
) -> None:
    alice = two_users["alice"]

    async def work(c: asyncpg.Connection) -> asyncpg.Record:
        row: asyncpg.Record = await c.fetchrow(
            "select u.email, u.name, u.email_verified_at is not null as verified, o.is_personal,"
            " o.name as org_name, m.role from users u join memberships m on m.user_id = u.id"
            " join organizations o on o.id = m.organization_id where u.id = $1",
            alice["user"],
        )
        return row

    row = run(supabase_db, work)
    assert row["email"].startswith("alice-") and row["name"] == "Alice" and row["verified"]
    assert (
        row["is_personal"] and row["role"] == "owner" and row["org_name"] == "Alice's organization"
    )


@pytest.mark.parametrize(
    "table", ["organizations", "memberships", "api_keys", "usage_logs", "credit_transactions"]
)
def test_a_user_reads_only_their_own_organisations_rows(
    supabase_db: str, two_users: dict[str, dict[str, Any]], table: str
) -> None:
    alice, bob = two_users["alice"], two_users["bob"]
    column = "id" if table == "organizations" else "organization_id"

    async def work(c: asyncpg.Connection) -> tuple[set[Any], set[Any]]:
        seen_by_alice = await as_role(
            c, "authenticated", alice["user"], f"select {column} from {table}"
        )
        seen_by_bob = await as_role(
            c, "authenticated", bob["user"], f"select {column} from {table}"
        )
        return {r[0] for r in seen_by_alice}, {r[0] for r in seen_by_bob}

    alice_sees, bob_sees = run(supabase_db, work)
    assert alice_sees == {alice["org"]}
    assert bob_sees == {bob["org"]}


def test_a_user_cannot_change_another_users_rows(
    supabase_db: str, two_users: dict[str, dict[str, Any]]
) -> None:
    alice, bob = two_users["alice"], two_users["bob"]

    async def work(c: asyncpg.Connection) -> list[Any]:
        changed = [
            await as_role(
                c,
                "authenticated",
                alice["user"],
                "update organizations set name = 'mine' where id = $1 returning id",
                bob["org"],
            ),
            await as_role(
                c,
                "authenticated",
                alice["user"],
                "update organizations set balance_nanos = 10 where id = $1 returning id",
                alice["org"],
            ),
            await as_role(
                c,
                "authenticated",
                alice["user"],
                "update api_keys set revoked = true where id = $1 returning id",
                bob["key"],
            ),
            await as_role(
                c,
                "authenticated",
                alice["user"],
                "delete from usage_logs where organization_id = $1 returning id",
                bob["org"],
            ),
            await as_role(
                c,
                "authenticated",
                alice["user"],
                "delete from credit_transactions where organization_id = $1 returning id",
                alice["org"],
            ),
        ]
        return changed

    assert run(supabase_db, work) == [[], [], [], [], []]

    async def insert_credit(c: asyncpg.Connection) -> None:
        await as_role(
            c,
            "authenticated",
            alice["user"],
            "insert into credit_transactions (organization_id, amount_nanos, kind,"
            " idempotency_key, description, created_at)"
            " values ($1, 1000000000000, 'grant', 'free', '', now())",
            alice["org"],
        )

    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="row-level security"):
        run(supabase_db, insert_credit)

    async def balances(c: asyncpg.Connection) -> list[int]:
        rows = await c.fetch("select balance_nanos from organizations order by id")
        return [r[0] for r in rows]

    assert set(run(supabase_db, balances)) == {5}


def test_profiles_are_private_and_secrets_unreadable(
    supabase_db: str, two_users: dict[str, dict[str, Any]]
) -> None:
    alice = two_users["alice"]

    async def own(c: asyncpg.Connection) -> list[asyncpg.Record]:
        return await as_role(c, "authenticated", alice["user"], "select id, email, name from users")

    assert [r["id"] for r in run(supabase_db, own)] == [alice["user"]]
    for query in [
        "select password_hash from users",
        "select key_hash from api_keys",
        "select * from users",
    ]:

        async def secret(c: asyncpg.Connection, query: str = query) -> None:
            await as_role(c, "authenticated", alice["user"], query)

        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="permission denied"):
            run(supabase_db, secret)


def test_column_grants_cover_every_column_but_the_secrets(supabase_db: str) -> None:
    async def work(c: asyncpg.Connection) -> dict[str, set[str]]:
        rows = await c.fetch(
            "select table_name, column_name from information_schema.column_privileges"
            " where grantee = 'authenticated' and privilege_type = 'SELECT'"
            " and table_name = any($1::text[])",
            list(SECRET_COLUMNS),
        )
        granted: dict[str, set[str]] = {t: set() for t in SECRET_COLUMNS}
        for r in rows:
            granted[r["table_name"]].add(r["column_name"])
        return granted

    granted = run(supabase_db, work)
    for table, secrets in SECRET_COLUMNS.items():
        columns = {c.name for c in Base.metadata.tables[table].columns}
        assert granted[table] == columns - secrets, table


def test_anon_reads_the_public_tables_only(
    supabase_db: str, two_users: dict[str, dict[str, Any]]
) -> None:
    async def counts(c: asyncpg.Connection) -> dict[str, int]:
        result = {}
        for table in [
            *PUBLIC_TABLES,
            "organizations",
            "memberships",
            "usage_logs",
            "credit_transactions",
            "oauth_identities",
        ]:
            rows = await as_role(c, "anon", None, f"select count(*) from {table}")
            result[table] = rows[0][0]
        return result

    seen = run(supabase_db, counts)
    assert all(seen[t] >= 1 for t in PUBLIC_TABLES), seen
    assert seen["organizations"] == seen["memberships"] == seen["usage_logs"] == 0
    assert seen["credit_transactions"] == seen["oauth_identities"] == 0
    for table in ["users", "api_keys"]:

        async def denied(c: asyncpg.Connection, table: str = table) -> None:
            await as_role(c, "anon", None, f"select id from {table}")

        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            run(supabase_db, denied)


def test_service_role_bypasses_row_level_security(
    supabase_db: str, two_users: dict[str, dict[str, Any]]
) -> None:
    async def work(c: asyncpg.Connection) -> int:
        rows = await as_role(c, "service_role", None, "select count(*) from api_keys")
        return int(rows[0][0])

    assert run(supabase_db, work) == 2


def test_email_changes_in_supabase_auth_reach_the_profile(supabase_db: str) -> None:
    async def work(c: asyncpg.Connection) -> tuple[asyncpg.Record, asyncpg.Record]:
        user_id = uuid.uuid4()
        await c.execute(
            "insert into auth.users (id, aud, role, email) values ($1, 'authenticated',"
            " 'authenticated', 'Carol@Example.com')",
            user_id,
        )
        before: asyncpg.Record = await c.fetchrow(
            "select email, email_verified_at from users where id = $1", user_id
        )
        await c.execute(
            "update auth.users set email = 'carol@new.example', email_confirmed_at = now()"
            " where id = $1",
            user_id,
        )
        after: asyncpg.Record = await c.fetchrow(
            "select email, email_verified_at from users where id = $1", user_id
        )
        return before, after

    before, after = run(supabase_db, work)
    assert before["email"] == "carol@example.com" and before["email_verified_at"] is None
    assert after["email"] == "carol@new.example" and after["email_verified_at"] is not None


def test_subscriptions_follow_the_seeds_view_own_policy(
    supabase_db: str, two_users: dict[str, dict[str, Any]]
) -> None:
    """Seed 001: "Users can view their own subscriptions"; members of the organisation too."""
    alice, bob = two_users["alice"], two_users["bob"]

    async def work(c: asyncpg.Connection) -> tuple[list[Any], list[Any], list[Any]]:
        await c.execute(
            "insert into subscriptions (id, organization_id, user_id, stripe_subscription_id,"
            " plan, stripe_price_id, status, current_period_start, current_period_end,"
            " cancel_at_period_end, created_at)"
            " values ($1, $2, $3, 'sub_rls', 'pro', 'price_1', 'active', now(),"
            " now() + interval '30 days', false, now())",
            uuid.uuid4(),
            alice["org"],
            alice["user"],
        )
        query = "select stripe_subscription_id from subscriptions"
        mine = await as_role(c, "authenticated", alice["user"], query)
        theirs = await as_role(c, "authenticated", bob["user"], query)
        anyone = await as_role(c, "anon", None, query)
        return [r[0] for r in mine], [r[0] for r in theirs], [r[0] for r in anyone]

    mine, theirs, anyone = run(supabase_db, work)
    assert mine == ["sub_rls"] and theirs == [] and anyone == []
