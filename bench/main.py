"""`python -m bench`: the gateway (`python -m gptapi gateway` as shipped) against its
upstream called directly and against a bare ASGI app on the same server stack, in one run on
one machine. See bench/README.md."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import answers, hello_server, llama, measure, nginx, peers, platform, scaling
from bench.loadgen import write_script
from bench.measure import (
    BARE,
    CHAT_PATH,
    DIRECT,
    FEATURES,
    GATEWAY,
    RESPONSES,
    RESPONSES_PATH,
    TOOLS,
    LoadSet,
)
from bench.payloads import CHAT_REQUEST, MODEL, RESPONSES_REQUEST, TOOLS_REQUEST, compact
from bench.procs import (
    Managed,
    exit_on_sigterm,
    family,
    free_port,
    python_env,
    rss_bytes,
    wait_http,
)
from bench.progress import step
from bench.report import print_report
from bench.tools import tools_or_exit

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
    parser.add_argument(
        "--flamegraphs",
        type=Path,
        default=None,
        help="with --profile: write py-spy flame graphs (SVG) at c=1 and the highest "
        "concurrency into this directory",
    )
    parser.add_argument(
        "--peers",
        default=f"{peers.PORTKEY},{peers.LITELLM}",
        help="other gateways to measure against the same upstream, comma-separated "
        "(portkey, litellm; empty for none); skipped when they cannot be installed",
    )
    parser.add_argument(
        "--no-install", action="store_true", help="never run apt-get, npm or pip for the bench"
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="a few seconds: every target once at c=1 and c=4, one short stream, and peers "
        "only if already installed; checks that everything runs, measures nothing",
    )
    parser.add_argument(
        "--processes",
        type=int,
        default=max(2, os.cpu_count() or 2),
        help="gateway processes of the scaled-out target (gptapi gateway --workers N, with "
        "Redis); 0 or 1 skips it and the gateway-on-Redis target",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (logs, database)")
    parser.add_argument("--json", type=Path, default=None, help="where to write raw results")
    args = parser.parse_args(argv)
    if args.smoke:
        args.duration, args.rounds, args.concurrency = 1, 1, "1,4"
        args.stream_runs, args.max_tokens, args.profile = 1, 8, False
    return args


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
    exit_on_sigterm()
    tools = tools_or_exit("bench", install=not args.no_install)
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
            "smoke": args.smoke,
            "processes": args.processes,
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
    names = [name for name in args.peers.split(",") if name]
    starting, skipped = peers.start_peers(
        names, work, nginx_url, allow_install=not (args.no_install or args.smoke)
    )
    children.extend(peer.process for peer in starting)

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

    scaled = (
        scaling.start_gateways(work, pools, children, body, processes=args.processes)
        if args.processes > 1
        else {}
    )

    running = peers.wait_peers(starting, skipped)
    for peer in starting:
        if peer not in running:  # stopped: no longer watched
            children.remove(peer.process)
    report["peers_skipped"] = skipped
    report["peers"] = {peer.name: peer.version for peer in running}

    plain = {"Content-Type": "application/json"}
    urls = {BARE: bare_url + CHAT_PATH, DIRECT: nginx_url + CHAT_PATH}
    urls[GATEWAY] = gateway_url + CHAT_PATH
    headers = {BARE: plain, DIRECT: plain, GATEWAY: auth}
    pids = {BARE: [bare.pid], DIRECT: family(nginx_proc.pid), GATEWAY: [gateway.pid]}
    for name, (url, scaled_headers, scaled_pids) in scaled.items():
        urls[name], headers[name], pids[name] = url + CHAT_PATH, scaled_headers, scaled_pids
    for peer in running:
        urls[peer.name], headers[peer.name] = peer.url, peer.headers
        pids[peer.name] = family(peer.process.pid)
    bodies = dict.fromkeys(urls, body)
    for name, path, request in (
        (RESPONSES, RESPONSES_PATH, RESPONSES_REQUEST),
        (TOOLS, CHAT_PATH, TOOLS_REQUEST),
    ):
        urls[name], headers[name], pids[name] = gateway_url + path, auth, [gateway.pid]
        bodies[name] = compact(request)
    report["answers"] = answers.check_all(urls, headers, bodies)
    step("every target answered its request correctly")
    scripts = {
        name: write_script(work / f"chat-{name}.lua", bodies[name], headers[name]) for name in urls
    }
    rss_pids = {BARE: bare.pid, GATEWAY: gateway.pid} | {p.name: p.process.pid for p in running}
    report["rss_idle"] = {name: rss_bytes(pid)[0] for name, pid in rss_pids.items()}
    load_set = LoadSet(tools["wrk"], scripts, urls, pids)
    load_set.warm_up(seconds=1 if args.smoke else 2)
    step("warm-up done; measuring (targets rotate each round, medians are reported)")
    raw, cpu = load_set.measure(concurrencies, args.rounds, args.duration, children)
    report["rss_after_load"] = {name: rss_bytes(pid)[0] for name, pid in rss_pids.items()}
    report["rss_peak"] = {name: rss_bytes(pid)[1] for name, pid in rss_pids.items()}
    report |= measure.load_report(raw, cpu)
    if scaled:
        report["scaling"] = scaling.scaling_report(report["load"], concurrencies, args.processes)
    report["metering"] = {
        "gateway_requests_measured": sum(
            r.requests for name in (GATEWAY, *FEATURES) for rs in raw[name].values() for r in rs
        ),
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
            urls[GATEWAY],
            scripts[GATEWAY],
            work,
            connections=max(concurrencies),
            seconds=args.profile_seconds,
            keep=args.keep,
            flamegraphs=args.flamegraphs,
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
