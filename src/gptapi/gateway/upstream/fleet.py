"""The fleet: which llama-servers serve which model.

A TOML file (`FLEET_CONFIG`) declares the pools; `gptapi admin servers …` adds, drains and
removes servers at run time. Both land in the `servers` table, which the gateway re-reads
every few seconds, so changes reach a running gateway without a restart.

    [pools.gpt-fast]
    servers = ["https://abc123-8080.proxy.runpod.net", "https://def456-8080.proxy.runpod.net"]
    api_key_env = "LLAMA_API_KEY"      # or api_key = "…"

    [pools.embed]
    servers = ["http://10.0.0.7:8080"]
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.gateway.upstream.registry import ServerSpec
from gptapi.models import Server


class FleetConfigError(ValueError):
    pass


def load_fleet_config(path: Path) -> list[ServerSpec]:
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise FleetConfigError(f"{path}: {exc}") from exc
    pools = data.get("pools")
    if not isinstance(pools, dict) or not pools:
        raise FleetConfigError(f"{path}: expected at least one [pools.<model>] table")
    specs: list[ServerSpec] = []
    for model, pool in pools.items():
        servers = pool.get("servers") if isinstance(pool, dict) else None
        if not isinstance(servers, list) or not all(isinstance(u, str) for u in servers):
            raise FleetConfigError(f"{path}: pools.{model}.servers must be a list of URLs")
        api_key = pool.get("api_key")
        if env := pool.get("api_key_env"):
            api_key = os.environ.get(env)
            if not api_key:
                raise FleetConfigError(f"{path}: pools.{model}: ${env} is not set")
        for url in servers:
            specs.append(ServerSpec(model=model, base_url=normalize_url(url), api_key=api_key))
    return specs


def normalize_url(url: str) -> str:
    url = url.strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise FleetConfigError(f"{url!r} is not an http(s) URL")
    return url


async def replace_source(session: AsyncSession, source: str, specs: Sequence[ServerSpec]) -> None:
    """Make the rows of `source` exactly `specs`, keeping the drain state of kept rows."""
    existing = {
        (row.model_name, row.base_url): row
        for row in (await session.scalars(select(Server).where(Server.source == source))).all()
    }
    wanted = {(spec.model, spec.base_url): spec for spec in specs}
    for key, row in existing.items():
        if key not in wanted:
            await session.delete(row)
    for key, spec in wanted.items():
        kept = existing.get(key)
        if kept is None:
            session.add(
                Server(
                    model_name=spec.model,
                    base_url=spec.base_url,
                    api_key=spec.api_key,
                    source=source,
                )
            )
        else:
            kept.api_key = spec.api_key


async def remove_source(session: AsyncSession, source: str) -> None:
    await session.execute(delete(Server).where(Server.source == source))


async def load_specs(session: AsyncSession) -> list[ServerSpec]:
    rows = (await session.scalars(select(Server).order_by(Server.id))).all()
    return [
        ServerSpec(
            model=row.model_name,
            base_url=row.base_url,
            api_key=row.api_key,
            draining=row.state == "draining",
        )
        for row in rows
    ]
