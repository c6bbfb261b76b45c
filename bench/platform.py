"""The gateway under test: a migrated SQLite database, one account with plenty of credit and
a key with rate limits far above what the bench can reach, a fleet TOML, and `gptapi
gateway` (the production entry point: uvicorn + uvloop + httptools, one process) with every
feature on: key auth, rate limiting, credit holds, group-commit metering."""

from __future__ import annotations

import asyncio
import secrets
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select

from bench.procs import Managed, free_port, python_env, wait_ready
from gptapi.admin import service
from gptapi.config import Settings
from gptapi.kit.db import create_engine, session_maker
from gptapi.kit.money import dollars_to_nanos
from gptapi.models import UsageLog

CREDIT_DOLLARS = "1000000"
# Limits are on (the bucket code runs on every request) but can never trigger here.
RPM_LIMIT = 1_000_000_000
TPM_LIMIT = 2_000_000_000  # the largest a PostgreSQL integer column holds, near enough


@dataclass(frozen=True, slots=True)
class GatewaySetup:
    database_url: str
    fleet_path: Path
    secret: str
    data_dir: Path


def gateway_env(setup: GatewaySetup) -> dict[str, str]:
    env = python_env()
    for name in Settings.model_fields:  # nothing from the caller's shell leaks into settings
        env.pop(name.upper(), None)
    env.update(
        {
            "ENVIRONMENT": "production",
            "DATABASE_URL": setup.database_url,
            "DATA_DIR": str(setup.data_dir),
            "LOCAL_INFERENCE": "off",
            "FLEET_CONFIG": str(setup.fleet_path),
            "LOG_LEVEL": "warning",
            # Production refuses to start without one; the bench account never signs in.
            "SECRET_KEY": secrets.token_urlsafe(32),
            # As deployed (deploy/k8s/gateway.yaml): background workers run in `gptapi
            # worker`, not in gateway replicas.
            "RUN_WORKERS": "false",
        }
    )
    return env


def write_fleet(path: Path, pools: dict[str, str]) -> Path:
    lines: list[str] = []
    for model, url in pools.items():
        lines += [f"[pools.{model}]", f'servers = ["{url}"]', ""]
    path.write_text("\n".join(lines))
    return path


def prepare(data_dir: Path, pools: dict[str, str], database_url: str = "") -> GatewaySetup:
    """Migrate a fresh database (`gptapi migrate`; SQLite unless `database_url` is given)
    and create the benchmark account."""
    data_dir.mkdir(parents=True, exist_ok=True)
    url = database_url or f"sqlite+aiosqlite:///{data_dir / 'gptapi.db'}"
    setup = GatewaySetup(url, write_fleet(data_dir / "fleet.toml", pools), "", data_dir)
    subprocess.run(
        [sys.executable, "-m", "gptapi", "migrate"],
        env=gateway_env(setup),
        cwd=data_dir,
        check=True,
        capture_output=True,
    )
    secret = asyncio.run(_create_account(url))
    return GatewaySetup(url, setup.fleet_path, secret, data_dir)


async def _create_account(url: str) -> str:
    engine = create_engine(url)
    try:
        async with session_maker(engine)() as session, session.begin():
            user, organization = await service.create_user(
                session, "bench@example.com", name="Bench"
            )
            await service.grant_credit(
                session, organization, dollars_to_nanos(CREDIT_DOLLARS), reason="bench"
            )
            _, secret = await service.create_key(
                session, organization, user, name="bench", rpm_limit=RPM_LIMIT, tpm_limit=TPM_LIMIT
            )
            return secret
    finally:
        await engine.dispose()


def start_gateway(
    setup: GatewaySetup,
    log_path: Path,
    *,
    args: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    name: str = "gateway",
) -> tuple[Managed, str]:
    """`python -m gptapi gateway` exactly as shipped (with `args` and more `env`), on a free
    loopback port; returns once its /healthz answers."""
    port = free_port()
    command = [sys.executable, "-m", "gptapi", "gateway", "--host", "127.0.0.1", "--port"]
    managed = Managed(
        name,
        [*command, str(port), *args],
        log_path,
        env=gateway_env(setup) | dict(env or {}),
        cwd=setup.data_dir,
    )
    base_url = f"http://127.0.0.1:{port}"
    wait_ready(base_url + "/healthz", managed, timeout=60)
    return managed, base_url


def event_loop(pid: int) -> str:
    """Whether uvloop's extension is mapped into the process: `gptapi gateway` should run on it."""
    maps = Path(f"/proc/{pid}/maps").read_text(errors="replace")
    return "uvloop loaded" if "/uvloop/loop." in maps else "asyncio (uvloop never loaded)"


def usage_rows(url: str) -> int:
    async def count() -> int:
        engine = create_engine(url)
        try:
            async with session_maker(engine)() as session:
                return int(await session.scalar(select(func.count(UsageLog.id))) or 0)
        finally:
            await engine.dispose()

    return asyncio.run(count())
