"""The gateway scaled out, measured in the same run as the rest: `gptapi gateway --workers N`
(N processes on one port sharing a Redis of the bench's own) against one process on the same
Redis and the bare-ASGI ceiling, and what Redis costs one process (the same gateway with and
without REDIS_URL: rate limits, credit holds and their settlement become Redis scripts)."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Any

from bench import platform
from bench.measure import BARE
from bench.postgres import start_postgres
from bench.procs import Managed, family, free_port, wait_http, wait_port
from bench.progress import step
from bench.stats import ratio

GATEWAY_PG, GATEWAY_REDIS = "gw pg", "gw+redis"


def processes_name(count: int) -> str:
    return f"gw x{count}"


def start_redis(work: Path, children: list[Managed]) -> str:
    """A Redis of the bench's own, nothing persisted; its URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise FileNotFoundError("redis-server is not installed")
    port = free_port()
    redis = Managed(
        "redis",
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        work / "redis.log",
        cwd=work,
    )
    children.append(redis)
    wait_port(port, redis, timeout=30)
    return f"redis://127.0.0.1:{port}/0"


def start_gateways(
    work: Path,
    pools: dict[str, str],
    children: list[Managed],
    body: bytes,
    *,
    processes: int,
) -> dict[str, tuple[str, dict[str, str], list[int]]]:
    """On a PostgreSQL of the bench's own (several processes writing SQLite would measure
    its write lock): the gateway without and with Redis, and N processes on Redis.
    name -> (base URL, headers, pids)."""
    database = start_postgres(work, children)
    step(f"postgres ready at {database}")
    setup = platform.prepare(work / "scaled", pools, database)
    auth = {"Authorization": f"Bearer {setup.secret}", "Content-Type": "application/json"}
    redis_url = start_redis(work, children)
    step(f"redis ready at {redis_url}")
    on_redis = {"REDIS_URL": redis_url}
    targets: list[tuple[str, tuple[str, ...], dict[str, str]]] = [
        (GATEWAY_PG, (), {}),
        (GATEWAY_REDIS, (), on_redis | {"REDIS_PREFIX": "one:"}),
        (processes_name(processes), ("--workers", str(processes)), on_redis),
    ]
    started: dict[str, tuple[str, dict[str, str], list[int]]] = {}
    for name, args, env in targets:
        step(f"starting {name} (python -m gptapi gateway {' '.join(args)}, PostgreSQL)")
        managed, url = platform.start_gateway(
            setup, work / f"{name.replace(' ', '-')}.log", args=args, env=env, name=name
        )
        children.append(managed)
        wait_http(url + "/v1/chat/completions", managed, data=body, headers=auth)
        pids = family(managed.pid)
        while args and len(pids) < 1 + processes:  # every process is up
            time.sleep(0.1)
            pids = family(managed.pid)
        started[name] = (url, auth, pids if args else [managed.pid])
    return started


def scaling_report(
    load: dict[str, Any], concurrencies: list[int], processes: int
) -> dict[str, Any]:
    high, low = str(max(concurrencies)), str(min(concurrencies))
    many = load[processes_name(processes)][high]["rps"]
    one, bare = load[GATEWAY_REDIS][high]["rps"], load[BARE][high]["rps"]
    return {
        "processes": processes,
        "concurrency": int(high),
        "rps": {"processes": many, "one_process": one, "bare_asgi": bare},
        "processes_vs_one": ratio(many, one),
        "processes_vs_bare": ratio(many, bare),
        "redis_added_p50_ms": load[GATEWAY_REDIS][low]["p50_ms"] - load[GATEWAY_PG][low]["p50_ms"],
        "redis_concurrency": int(low),
        "cpus": len(os.sched_getaffinity(0)),
    }


def print_scaling(scaling: dict[str, Any]) -> None:
    rps = scaling["rps"]
    n, c = scaling["processes"], scaling["concurrency"]
    print()
    print(f"== Scaling out: {n} gateway processes on one port, Redis shared ==")
    print(
        f"c={c}, PostgreSQL and Redis: {n} processes {rps['processes']:.0f} req/s, one process "
        f"{rps['one_process']:.0f} req/s ({scaling['processes_vs_one']:.2f}x), bare ASGI "
        f"{rps['bare_asgi']:.0f} req/s ({scaling['processes_vs_bare'] * 100:.1f}% of it), "
        f"on {scaling['cpus']} CPUs shared with the load generator and the upstream"
    )
    print(
        f"c={scaling['redis_concurrency']}: Redis costs one process "
        f"{scaling['redis_added_p50_ms']:+.3f} ms p50 ({GATEWAY_REDIS} - {GATEWAY_PG}: the same "
        "gateway on PostgreSQL with and without REDIS_URL)"
    )
