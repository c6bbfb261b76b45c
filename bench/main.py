"""`python -m bench`: the gateway (`python -m gptapi gateway` as shipped) against its
upstream called directly and against a bare ASGI app on the same server stack, in one run on
one machine. See bench/README.md."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from bench import hello_server, llama, measure, nginx, platform
from bench.loadgen import write_script
from bench.measure import BARE, CHAT_PATH, DIRECT, GATEWAY, LoadSet
from bench.payloads import CHAT_REQUEST, MODEL, compact
from bench.procs import Managed, family, free_port, python_env, rss_bytes, wait_http
from bench.progress import step
from bench.report import print_report
from bench.tools import ToolMissing, ensure_tools

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--duration", type=int, default=4, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds per config")
    parser.add_argument("--concurrency", default="1,16,64", help="comma-separated wrk -c values")
    parser.add_argument("--stream-runs", type=int, default=8, help="streams per target")
    parser.add_argument("--max-tokens", type=int, default=128, help="tokens per stream")
    parser.add_argument(
        "--llama-threads",
        type=int,
        default=1,
        help="llama.cpp threads (default 1: leaves a core for the gateway and the client, "
        "as when the model runs on its own machine; 0 lets llama.cpp take every core)",
    )
    parser.add_argument("--no-stream", action="store_true", help="skip the llama.cpp part")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="afterwards, sample the gateway with py-spy under wrk at the highest concurrency",
    )
    parser.add_argument("--profile-seconds", type=int, default=10)
    parser.add_argument("--no-install", action="store_true", help="never run apt-get")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (logs, database)")
    parser.add_argument("--json", type=Path, default=None, help="where to write raw results")
    return parser.parse_args(argv)


def _terminate_on_signal(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # unwinds through every `finally`, stopping children


@contextlib.contextmanager
def workdir(keep: bool) -> Iterator[Path]:
    if keep:
        path = Path(tempfile.mkdtemp(prefix="gptapi-bench-"))
        step(f"work dir (kept): {path}")
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="gptapi-bench-") as name:
        yield Path(name)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate_on_signal)
    try:
        tools = ensure_tools(install=not args.no_install)
    except ToolMissing as exc:
        print(f"bench: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    started = time.monotonic()
    with workdir(args.keep) as work, contextlib.ExitStack() as stack:
        children: list[Managed] = []

        def stop_all() -> None:
            for child in reversed(children):
                if child.alive():
                    step(f"stopping {child.name} (pid {child.pid})")
                child.stop()

        stack.callback(stop_all)
        report = run(args, tools, work, children)
        stop_all()
        report["elapsed_seconds"] = round(time.monotonic() - started, 1)
        print_report(report)
        save(report, args.json)
    step(f"done in {time.monotonic() - started:.0f}s; no process left running")


def source_version() -> str:
    """The commit the gateway code comes from, and whether src/ has uncommitted edits."""
    root = Path(__file__).resolve().parent.parent

    def git(*command: str) -> str:
        result = subprocess.run(
            ["git", *command], cwd=root, capture_output=True, text=True, check=False
        )
        return result.stdout.strip() if result.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    return commit + (
        " + uncommitted changes in src/" if git("status", "--porcelain", "src") else ""
    )


def run(
    args: argparse.Namespace, tools: dict[str, str], work: Path, children: list[Managed]
) -> dict[str, Any]:
    concurrencies = [int(c) for c in args.concurrency.split(",")]
    report: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "load_before": os.getloadavg()},
        "source": source_version(),
        "settings": {
            "duration_s": args.duration,
            "rounds": args.rounds,
            "concurrency": concurrencies,
            "stream_runs": args.stream_runs,
            "max_tokens": args.max_tokens,
            "llama_threads": args.llama_threads,
        },
    }

    # Upstreams first: llama.cpp loads its model while the rest starts.
    llama_proc: Managed | None = None
    llama_url = ""
    if not args.no_stream:
        step(f"starting llama.cpp (SmolLM2-135M, {args.llama_threads or 'all'} thread(s))")
        llama_proc, llama_url = llama.start_llama(work / "llama.log", threads=args.llama_threads)
        children.append(llama_proc)
    step("starting nginx (static upstream)")
    nginx_proc, nginx_url = nginx.start_nginx(tools["nginx"], work / "nginx")
    children.append(nginx_proc)
    step(f"nginx ready at {nginx_url}")

    step("migrating a fresh SQLite database and creating the bench account")
    pools = {MODEL: nginx_url} | ({"gpt-full": llama_url} if llama_url else {})
    setup = platform.prepare(work / "gateway", pools)
    bare, bare_url = start_bare(work, children)
    if llama_proc is not None:
        step("waiting for llama.cpp to load the model")
        llama.wait_llama(llama_proc, llama_url)
        step(f"llama.cpp ready at {llama_url}")

    auth = {"Authorization": f"Bearer {setup.secret}", "Content-Type": "application/json"}
    body = compact(CHAT_REQUEST)
    gateway, gateway_url = start_gateway(setup, work, children, body, auth)
    report["event_loop"] = platform.event_loop(gateway.pid)

    urls = {BARE: bare_url, DIRECT: nginx_url, GATEWAY: gateway_url}
    pids = {BARE: bare.pid, GATEWAY: gateway.pid}
    cpu_pids = {BARE: [bare.pid], DIRECT: family(nginx_proc.pid), GATEWAY: [gateway.pid]}
    script = write_script(work / "chat.lua", body, auth)
    report["rss_idle"] = {name: rss_bytes(pid)[0] for name, pid in pids.items()}
    load_set = LoadSet(tools["wrk"], script, {n: u + CHAT_PATH for n, u in urls.items()}, cpu_pids)
    load_set.warm_up()
    step("warm-up done; measuring (targets rotate each round, medians are reported)")
    raw, cpu = load_set.measure(concurrencies, args.rounds, args.duration, children)
    report["rss_after_load"] = {name: rss_bytes(pid)[0] for name, pid in pids.items()}
    report["rss_peak"] = {name: rss_bytes(pid)[1] for name, pid in pids.items()}
    report |= measure.load_report(raw, cpu)
    report["metering"] = {
        "gateway_requests_measured": sum(r.requests for rs in raw[GATEWAY].values() for r in rs),
        "usage_rows": platform.usage_rows(setup.database_url),
    }

    if llama_proc is not None:
        report |= measure.stream_report(
            llama_url,
            gateway_url,
            auth,
            gateway.pid,
            runs=args.stream_runs,
            max_tokens=args.max_tokens,
        )
    if args.profile:
        report["profile"] = measure.profile_gateway(
            tools["wrk"],
            gateway,
            gateway_url + CHAT_PATH,
            script,
            work,
            connections=max(concurrencies),
            seconds=args.profile_seconds,
            keep=args.keep,
        )
    report["machine"]["load_after"] = os.getloadavg()
    return report


def start_bare(work: Path, children: list[Managed]) -> tuple[Managed, str]:
    step("starting the bare ASGI app")
    port = free_port()
    bare = Managed(
        "bare ASGI app",
        [sys.executable, "-m", hello_server.__name__, "--port", str(port)],
        work / "bare.log",
        env=python_env(),
        cwd=Path(__file__).resolve().parent.parent,
    )
    children.append(bare)
    url = f"http://127.0.0.1:{port}"
    wait_http(url + CHAT_PATH, bare, data=b"{}")
    return bare, url


def start_gateway(
    setup: platform.GatewaySetup,
    work: Path,
    children: list[Managed],
    body: bytes,
    auth: dict[str, str],
) -> tuple[Managed, str]:
    """`gptapi gateway` as shipped, checked with one metered request."""
    step("starting the gateway (python -m gptapi gateway, as shipped, one process)")
    gateway, url = platform.start_gateway(setup, work / "gateway.log")
    children.append(gateway)
    # The gateway answers 503 until its first health check of the pool has passed.
    answer = json.loads(wait_http(url + CHAT_PATH, gateway, data=body, headers=auth))
    assert answer["usage"]["total_tokens"] > 0 and answer["model"] == MODEL, answer
    assert "timings" not in answer, "the gateway should strip llama.cpp timings"
    loop = platform.event_loop(gateway.pid)
    step(f"gateway ready at {url} (pid {gateway.pid}, {loop}); a metered request succeeded")
    return gateway, url


def save(report: dict[str, Any], path: Path | None) -> None:
    if path is None:
        RESULTS_DIR.mkdir(exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        path = RESULTS_DIR / f"{stamp}.json"
    path.write_text(json.dumps(report, indent=2, default=str))
    step(f"raw results: {path}")
