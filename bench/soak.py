"""`python -m bench.soak`: `gptapi gateway --workers N` on PostgreSQL and Redis (both the
bench's own) under steady load for an hour, sampling every gateway process's resident memory
and open file descriptors, and counting every answer that was not a 200. A healthy gateway
stays flat and answers nothing else. Not part of CI; `--smoke` runs a few seconds of it in
tests/bench/test_smoke.py. See bench/README.md."""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench import nginx, platform
from bench.fds import fd_kinds
from bench.loadgen import run_wrk, write_script
from bench.payloads import CHAT_REQUEST, MODEL, compact
from bench.postgres import start_postgres
from bench.procs import Managed, exit_on_sigterm, family, rss_bytes, wait_http
from bench.progress import step
from bench.scaling import start_redis
from bench.tools import tools_or_exit

MIB = 1024 * 1024
# Flat: growth from the first third of the samples after the warm-up to the last third.
MAX_RSS_GROWTH_MIB = 20.0
MAX_FD_GROWTH = 8


@dataclass(frozen=True)
class Sample:
    at_s: float
    requests: int
    non_2xx: int
    errors: int
    rss_mib: float  # all gateway processes together
    fds: int  # open by all gateway processes together
    pids: tuple[int, ...]
    fd_kinds: dict[str, int]  # the same descriptors by kind (bench/fds.py)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    parser.add_argument("--duration", type=int, default=3600, help="seconds of load")
    parser.add_argument("--interval", type=int, default=60, help="seconds between samples")
    parser.add_argument("--processes", type=int, default=max(2, os.cpu_count() or 2))
    parser.add_argument("--connections", type=int, default=16, help="wrk -c")
    parser.add_argument(
        "--warmup",
        type=int,
        default=600,
        help="seconds of load before growth is measured (connection pools filling up)",
    )
    parser.add_argument("--smoke", action="store_true", help="a few seconds; judges nothing")
    parser.add_argument("--no-install", action="store_true", help="never run apt-get")
    parser.add_argument("--json", type=Path, default=None, help="where to write the samples")
    args = parser.parse_args(argv)
    if args.smoke:
        args.duration, args.interval, args.connections, args.warmup = 6, 2, 4, 0
    return args


def soak(
    args: argparse.Namespace, tools: dict[str, str], work: Path, children: list[Managed]
) -> dict[str, Any]:
    step("starting nginx (static upstream), PostgreSQL and Redis")
    upstream, upstream_url = nginx.start_nginx(tools["nginx"], work / "nginx")
    children.append(upstream)
    database = start_postgres(work, children)
    redis_url = start_redis(work, children)
    setup = platform.prepare(work / "gateway", {MODEL: upstream_url}, database)
    step(f"starting gptapi gateway --workers {args.processes}")
    gateway, url = platform.start_gateway(
        setup,
        work / "gateway.log",
        args=("--workers", str(args.processes)),
        env={"REDIS_URL": redis_url},
        name="gateway",
    )
    children.append(gateway)
    headers = {"Authorization": f"Bearer {setup.secret}", "Content-Type": "application/json"}
    body = compact(CHAT_REQUEST)
    target = url + "/v1/chat/completions"
    wait_http(target, gateway, data=body, headers=headers)
    script = write_script(work / "chat.lua", body, headers)
    run_wrk(tools["wrk"], target, script, connections=args.connections, seconds=args.interval)
    services = {
        _port(upstream_url): "upstream",
        _port(database): "postgresql",
        _port(redis_url): "redis",
    }

    def sample(at: float, requests: int = 0, non_2xx: int = 0, errors: int = 0) -> Sample:
        pids = family(gateway.pid)
        rss = sum(rss_bytes(pid)[0] for pid in pids) / MIB
        kinds = dict(fd_kinds(pids, services, served=[_port(url)]))
        total = sum(kinds.values())
        return Sample(round(at, 1), requests, non_2xx, errors, rss, total, tuple(pids), kinds)

    started = time.monotonic()
    samples = [sample(0.0)]
    while time.monotonic() - started < args.duration:
        gateway.check_alive()
        result = run_wrk(
            tools["wrk"], target, script, connections=args.connections, seconds=args.interval
        )
        at = time.monotonic() - started
        samples.append(sample(at, result.requests, result.non_2xx, result.errors))
        step(
            f"{at:7.0f}s  {result.rps:7.0f} req/s  non-200 {result.non_2xx}  "
            f"RSS {samples[-1].rss_mib:7.1f} MiB  fds {samples[-1].fds} "
            f"{_kinds_line(samples[-1].fd_kinds)}"
        )
    measured = [s for s in samples[1:] if s.at_s > args.warmup] or samples[1:]
    kinds = sorted({kind for s in measured for kind in s.fd_kinds})
    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "settings": {k: v for k, v in vars(args).items() if k != "json"},
        "samples": [asdict(s) for s in samples],
        "requests": sum(s.requests for s in samples),
        "non_2xx": sum(s.non_2xx for s in samples),
        "errors": sum(s.errors for s in samples),
        "rss_growth_mib": _trend([s.rss_mib for s in measured]),
        "fd_growth": round(_trend([s.fds for s in measured]), 1),
        "fd_growth_by_kind": {
            kind: round(_trend([s.fd_kinds.get(kind, 0) for s in measured]), 1) for kind in kinds
        },
        "same_processes": samples[0].pids == samples[-1].pids,
    }


def _port(url: str) -> int:
    port = urlsplit(url).port
    if port is None:
        raise ValueError(f"no port in {url}")
    return port


def _kinds_line(kinds: Mapping[str, int]) -> str:
    return "(" + ", ".join(f"{kind} {n}" for kind, n in sorted(kinds.items())) + ")"


def _trend(values: Sequence[float]) -> float:
    """The mean of the last third of the samples measured less that of the first third:
    growth, not the bounce of connections opening and closing from one sample to the next."""
    third = max(1, len(values) // 3)
    return (sum(values[-third:]) - sum(values[:third])) / third


def verdicts(report: dict[str, Any]) -> list[tuple[bool, str]]:
    return [
        (report["non_2xx"] == 0 and report["errors"] == 0, f"non-200 answers and errors: "
         f"{report['non_2xx']} and {report['errors']} of {report['requests']} requests"),
        (report["rss_growth_mib"] <= MAX_RSS_GROWTH_MIB, f"RSS growth "
         f"{report['rss_growth_mib']:+.1f} MiB (≤ {MAX_RSS_GROWTH_MIB:g})"),
        (report["fd_growth"] <= MAX_FD_GROWTH, f"open fds growth {report['fd_growth']:+.1f} "
         f"(≤ {MAX_FD_GROWTH}; by kind: {_growth_line(report['fd_growth_by_kind'])})"),
        (report["same_processes"], "no gateway process died and was restarted"),
    ]  # fmt: skip


def _growth_line(growth: Mapping[str, float]) -> str:
    return ", ".join(f"{kind} {value:+.1f}" for kind, value in growth.items()) or "none"


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    exit_on_sigterm()
    tools = tools_or_exit("bench.soak", install=not args.no_install)
    children: list[Managed] = []
    with tempfile.TemporaryDirectory(prefix="gptapi-soak-") as name:
        try:
            report = soak(args, tools, Path(name), children)
        finally:
            for child in reversed(children):
                child.stop()
    if args.json is not None:
        args.json.write_text(json.dumps(report, indent=2))
    print()
    for ok, line in verdicts(report):
        print(f"{'PASS' if ok or args.smoke else 'MISS'}  {line}")
    if args.smoke:
        print("smoke run: the soak runs and samples; nothing is judged")
    elif not all(ok for ok, _ in verdicts(report)):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
