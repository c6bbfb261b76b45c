"""`python -m bench`: the gateway against its upstream called directly and against a bare
ASGI app on the same server stack, in one run on one machine. See bench/README.md."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from bench import hello_server, llama, nginx, platform, profiling, streaming
from bench.loadgen import WrkResult, run_wrk, write_script
from bench.payloads import CHAT_REQUEST, MODEL, compact, stream_request
from bench.procs import Managed, cpu_seconds, family, free_port, python_env, rss_bytes, wait_http
from bench.progress import step
from bench.stats import Target, median, ratio, summarize
from bench.tools import ToolMissing, ensure_tools

BARE, DIRECT, GATEWAY, CLI = "bare-asgi", "direct", "gateway", "gateway-cli"
GATEWAYS = (GATEWAY, CLI)
CHAT_PATH = "/v1/chat/completions"
RESULTS_DIR = Path(__file__).resolve().parent / "results"

TARGET_RPS_SHARE = 0.15  # gateway rps ≥ 15% of bare ASGI at the highest concurrency
TARGET_ADDED_P50_MS = 1.0  # at concurrency 1
TARGET_TPS_SHARE = 0.97  # streaming tokens/s through the gateway vs direct


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
        "--no-cli",
        action="store_true",
        help="skip `gptapi gateway` as shipped (the gateway-cli rows)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="afterwards, sample the gateway with py-spy under wrk at the highest concurrency",
    )
    parser.add_argument("--profile-seconds", type=int, default=10)
    parser.add_argument(
        "--ablate",
        action="store_true",
        help="afterwards, measure what-if variants of the gateway (bench/ablation.py)",
    )
    parser.add_argument("--ablate-rounds", type=int, default=2)
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


class LoadSet:
    """Targets measured together: wrk against each in turn, rotating the order every round,
    with each server's own CPU time per request from /proc."""

    def __init__(
        self, wrk: str, script: Path, urls: dict[str, str], cpu_pids: dict[str, list[int]]
    ) -> None:
        self.wrk = wrk
        self.script = script
        self.urls = urls
        self.cpu_pids = cpu_pids

    def warm_up(self, seconds: int = 2) -> None:
        """Connection pools, key cache, credit account, code paths."""
        for url in self.urls.values():
            run_wrk(self.wrk, url, self.script, connections=16, seconds=seconds)

    def measure(
        self, concurrencies: list[int], rounds: int, seconds: int, watch: list[Managed]
    ) -> tuple[dict[str, dict[int, list[WrkResult]]], dict[str, dict[int, list[float]]]]:
        names = tuple(self.urls)
        raw: dict[str, dict[int, list[WrkResult]]] = {
            n: {c: [] for c in concurrencies} for n in names
        }
        cpu: dict[str, dict[int, list[float]]] = {n: {c: [] for c in concurrencies} for n in names}
        total = rounds * len(concurrencies) * len(names)
        done = 0
        for index in range(rounds):
            shift = index % len(names)
            order = names[shift:] + names[:shift]
            for connections in concurrencies:
                for name in order:
                    for proc in watch:
                        proc.check_alive()
                    before = cpu_seconds(self.cpu_pids[name])
                    result = run_wrk(
                        self.wrk,
                        self.urls[name],
                        self.script,
                        connections=connections,
                        seconds=seconds,
                    )
                    used = cpu_seconds(self.cpu_pids[name]) - before
                    cpu_us = used * 1e6 / max(1, result.requests)
                    raw[name][connections].append(result)
                    cpu[name][connections].append(cpu_us)
                    done += 1
                    flag = f"  {result.errors} ERRORS" if result.errors else ""
                    step(
                        f"[{done:2d}/{total}] round {index + 1} c={connections:<3d} "
                        f"{name:<18} {result.rps:8.0f} req/s  p50 {result.p50_ms:7.3f} ms  "
                        f"p99 {result.p99_ms:7.3f} ms  cpu {cpu_us:5.0f} us/req{flag}"
                    )
                    time.sleep(0.3)
        return raw, cpu


def summaries(
    raw: dict[str, dict[int, list[WrkResult]]], cpu: dict[str, dict[int, list[float]]]
) -> dict[str, dict[str, dict[str, Any]]]:
    return {
        name: {str(c): asdict(summarize(runs, cpu[name][c])) for c, runs in by_c.items()}
        for name, by_c in raw.items()
    }


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
    pools = {MODEL: nginx_url}
    if llama_url:
        pools["gpt-full"] = llama_url
    setup = platform.prepare(work / "gateway", pools)

    port = free_port()
    step("starting the bare ASGI app")
    bare = Managed(
        "bare ASGI app",
        [sys.executable, "-m", hello_server.__name__, "--port", str(port)],
        work / "bare.log",
        env=python_env(),
        cwd=Path(__file__).resolve().parent.parent,
    )
    children.append(bare)
    bare_url = f"http://127.0.0.1:{port}"
    wait_http(bare_url + CHAT_PATH, bare, data=b"{}")

    if llama_proc is not None:
        step("waiting for llama.cpp to load the model")
        llama.wait_llama(llama_proc, llama_url)
        step(f"llama.cpp ready at {llama_url}")

    auth = {"Authorization": f"Bearer {setup.secret}", "Content-Type": "application/json"}
    body = compact(CHAT_REQUEST)
    gateways: dict[str, tuple[Managed, str]] = {}
    for name in GATEWAYS if not args.no_cli else (GATEWAY,):
        what = "gptapi gateway as shipped" if name == CLI else "bench.gateway_server, uvloop"
        step(f"starting {name} ({what}, one process)")
        proc, url = platform.start_gateway(setup, work / f"{name}.log", name=name, cli=name == CLI)
        children.append(proc)
        gateways[name] = (proc, url)
        # A gateway answers 503 until its first health check of the pool has passed.
        answer = json.loads(wait_http(url + CHAT_PATH, proc, data=body, headers=auth))
        assert answer["usage"]["total_tokens"] > 0 and answer["model"] == MODEL, answer
        assert "timings" not in answer, "the gateway should strip llama.cpp timings"
        loop = platform.event_loop(proc.pid, work / f"{name}.log")
        step(f"{name} ready at {url} (pid {proc.pid}, {loop}); a metered request succeeded")
    gateway, gateway_url = gateways[GATEWAY]
    load_targets = (BARE, DIRECT, *gateways)

    urls = {BARE: bare_url, DIRECT: nginx_url} | {n: url for n, (_, url) in gateways.items()}
    pids = {BARE: bare.pid} | {n: proc.pid for n, (proc, _) in gateways.items()}
    cpu_pids = {DIRECT: family(nginx_proc.pid)} | {name: [pid] for name, pid in pids.items()}
    script = write_script(work / "chat.lua", body, auth)
    report["event_loop"] = {
        n: platform.event_loop(proc.pid, work / f"{n}.log") for n, (proc, _) in gateways.items()
    }
    report["rss_idle"] = {name: rss_bytes(pid)[0] for name, pid in pids.items()}

    load_set = LoadSet(
        tools["wrk"], script, {n: urls[n] + CHAT_PATH for n in load_targets}, cpu_pids
    )
    load_set.warm_up()
    step("warm-up done; measuring (targets rotate each round, medians are reported)")
    raw, cpu = load_set.measure(
        concurrencies, args.rounds, args.duration, [proc for proc, _ in gateways.values()]
    )
    report["rss_after_load"] = {name: rss_bytes(pid)[0] for name, pid in pids.items()}
    report["rss_peak"] = {name: rss_bytes(pid)[1] for name, pid in pids.items()}
    report["load_raw"] = {
        name: {
            str(c): [
                asdict(r) | {"cpu_us_per_request": u}
                for r, u in zip(runs, cpu[name][c], strict=True)
            ]
            for c, runs in by_c.items()
        }
        for name, by_c in raw.items()
    }
    report["load"] = summaries(raw, cpu)
    gateway_requests = sum(
        r.requests for name in gateways for runs in raw[name].values() for r in runs
    )
    report["metering"] = {
        "gateway_requests_measured": gateway_requests,
        "usage_rows": platform.usage_rows(setup.database_url),
    }

    if llama_proc is not None:
        step(
            f"streaming: {args.stream_runs} runs per target, {args.max_tokens} tokens, "
            "temperature 0, interleaved"
        )
        stream_body = stream_request(args.max_tokens)
        samples = asyncio.run(
            streaming.compare(
                {
                    DIRECT: (llama_url + CHAT_PATH, {"Content-Type": "application/json"}, None),
                    GATEWAY: (
                        gateway_url + CHAT_PATH,
                        auth,
                        functools.partial(cpu_seconds, [gateway.pid]),
                    ),
                },
                stream_body,
                runs=args.stream_runs,
                progress=step,
            )
        )
        report["stream_raw"] = {
            name: [asdict(s) for s in values] for name, values in samples.items()
        }
        report["stream"] = {
            name: {
                "ttft_ms": median([s.ttft_ms for s in values]),
                "decode_tps": median([s.decode_tps for s in values]),
                "end_to_end_tps": median([s.end_to_end_tps for s in values]),
                "tokens": median([float(s.tokens) for s in values]),
                "server_cpu_us_per_token": (
                    median([s.server_cpu_us_per_token for s in values if s.server_cpu_us_per_token])
                    if any(s.server_cpu_us_per_token for s in values)
                    else None
                ),
            }
            for name, values in samples.items()
        }
        pairs = list(zip(samples[DIRECT], samples[GATEWAY], strict=True))
        report["stream"]["paired"] = {
            "decode_tps_ratio": median([g.decode_tps / d.decode_tps for d, g in pairs]),
            "end_to_end_tps_ratio": median([g.end_to_end_tps / d.end_to_end_tps for d, g in pairs]),
            "ttft_ratio": median([g.ttft_ms / d.ttft_ms for d, g in pairs]),
            "ttft_added_ms": median([g.ttft_ms - d.ttft_ms for d, g in pairs]),
        }

    if args.profile:
        report["profile"] = profile_gateway(
            args, tools["wrk"], gateway, gateway_url + CHAT_PATH, script, work, concurrencies
        )
    if args.ablate:
        report["ablation"] = ablate(
            args, setup, load_set, gateways[GATEWAY][0], work, children, concurrencies, auth
        )
    report["machine"]["load_after"] = os.getloadavg()
    return report


ABLATIONS = {
    "no-commit-wait": "no-commit-wait",
    "raw-sqlite-writer": "raw-sqlite-writer",
    "plain-route": "plain-route,no-telemetry",
    "all-fixes": "raw-sqlite-writer,plain-route,no-telemetry",
}


def ablate(
    args: argparse.Namespace,
    setup: platform.GatewaySetup,
    main_set: LoadSet,
    gateway: Managed,
    work: Path,
    children: list[Managed],
    concurrencies: list[int],
    auth: dict[str, str],
) -> dict[str, Any]:
    """The unmodified gateway next to what-if variants (bench/ablation.py), all running at
    once and measured interleaved, at the lowest and highest concurrency."""
    step(f"ablation: starting {len(ABLATIONS)} what-if gateways ({', '.join(ABLATIONS)})")
    urls = {DIRECT: main_set.urls[DIRECT], GATEWAY: main_set.urls[GATEWAY]}
    cpu_pids = {DIRECT: main_set.cpu_pids[DIRECT], GATEWAY: main_set.cpu_pids[GATEWAY]}
    variants: dict[str, Managed] = {}
    for name, modes in ABLATIONS.items():
        proc, url = platform.start_gateway(
            setup, work / f"ablate-{name}.log", name=name, cli=False, ablate=modes
        )
        children.append(proc)
        variants[name] = proc
        urls[name] = url + CHAT_PATH
        cpu_pids[name] = [proc.pid]
    body = compact(CHAT_REQUEST)
    for name, proc in variants.items():
        wait_http(urls[name], proc, data=body, headers=auth)  # first health check passed
    load_set = LoadSet(main_set.wrk, main_set.script, urls, cpu_pids)
    load_set.warm_up()
    raw, cpu = load_set.measure(
        sorted({min(concurrencies), max(concurrencies)}),
        args.ablate_rounds,
        args.duration,
        [gateway, *variants.values()],
    )
    for proc in variants.values():
        proc.stop()
    return {"modes": ABLATIONS, "load": summaries(raw, cpu)}


def profile_gateway(
    args: argparse.Namespace,
    wrk: str,
    gateway: Managed,
    url: str,
    script: Path,
    work: Path,
    concurrencies: list[int],
) -> dict[str, Any]:
    py_spy = profiling.ensure_py_spy()
    connections = max(concurrencies)
    output = work / "gateway.pyspy.txt"
    step(f"profiling the gateway with py-spy for {args.profile_seconds:g}s at c={connections}")
    recorder = profiling.start_record(py_spy, gateway.pid, args.profile_seconds, output)
    time.sleep(0.5)
    result = run_wrk(wrk, url, script, connections=connections, seconds=args.profile_seconds)
    _, errors = recorder.communicate(timeout=args.profile_seconds + 30)
    if recorder.returncode != 0 or not output.exists():
        step(f"py-spy failed: {errors.decode(errors='replace').strip()}")
        return {"error": errors.decode(errors="replace")}
    spots = profiling.analyse(output)
    step(f"py-spy: {spots.samples} samples while serving {result.rps:.0f} req/s")
    if args.keep:
        step(f"raw py-spy stacks: {output}")
    return asdict(spots) | {"rps_while_profiled": result.rps}


# ------------------------------------------------------------------------------ report


def _ms(value: float) -> str:
    return f"{value:.3f}" if value < 10 else f"{value:.1f}"


def _pct(value: float) -> str:
    return f"{value * 100:.1f}%"


def targets(report: dict[str, Any]) -> list[Target]:
    load = report["load"]
    concurrencies = report["settings"]["concurrency"]
    high, low = str(max(concurrencies)), str(min(concurrencies))
    share = ratio(load[GATEWAY][high]["rps"], load[BARE][high]["rps"])
    cpu_share = ratio(
        load[BARE][high]["cpu_us_per_request"], load[GATEWAY][high]["cpu_us_per_request"]
    )
    added = load[GATEWAY][low]["p50_ms"] - load[DIRECT][low]["p50_ms"]
    result = [
        Target(
            f"c={high}: gateway req/s ≥ {_pct(TARGET_RPS_SHARE)} of bare ASGI",
            f"{_pct(share)} (CPU-normalized: {_pct(cpu_share)})",
            f"≥ {_pct(TARGET_RPS_SHARE)}",
            share >= TARGET_RPS_SHARE,
        ),
        Target(
            f"c={low}: added p50 latency (gateway - direct) ≤ {TARGET_ADDED_P50_MS:g} ms",
            f"{added:.3f} ms",
            f"≤ {TARGET_ADDED_P50_MS:g} ms",
            added <= TARGET_ADDED_P50_MS,
        ),
    ]
    if "stream" in report:
        stream = report["stream"]
        tps = stream["paired"]["decode_tps_ratio"]
        result.append(
            Target(
                f"streaming tokens/s through the gateway ≥ {_pct(TARGET_TPS_SHARE)} of direct",
                f"{_pct(tps)} (median of paired runs; ratio of medians "
                f"{_pct(ratio(stream[GATEWAY]['decode_tps'], stream[DIRECT]['decode_tps']))})",
                f"≥ {_pct(TARGET_TPS_SHARE)}",
                tps >= TARGET_TPS_SHARE,
            )
        )
    return result


def print_report(report: dict[str, Any]) -> None:
    settings = report["settings"]
    load: dict[str, dict[str, dict[str, Any]]] = report["load"]
    print()
    print(
        f"== Non-streaming chat completions: wrk, {settings['rounds']} rounds x "
        f"{settings['duration_s']:g} s per config, medians over rounds =="
    )
    header = (
        f"{'conc':>4}  {'target':<11} {'req/s':>8} {'(min-max)':>15} {'p50 ms':>8} "
        f"{'p99 ms':>8} {'cpu us/req':>10} {'errors':>6}  {'÷ bare':>7} {'÷ direct':>8}"
    )
    print(header)
    print("-" * len(header))
    for c in map(str, settings["concurrency"]):
        for name in load:
            s = load[name][c]
            low, high = s["rps_spread"]
            vs_bare = _pct(ratio(s["rps"], load[BARE][c]["rps"])) if name != BARE else ""
            vs_direct = _pct(ratio(s["rps"], load[DIRECT][c]["rps"])) if name in GATEWAYS else ""
            print(
                f"{c:>4}  {name:<11} {s['rps']:8.0f} {f'({low:.0f}-{high:.0f})':>15} "
                f"{_ms(s['p50_ms']):>8} {_ms(s['p99_ms']):>8} "
                f"{s['cpu_us_per_request']:>10.0f} {s['errors']:>6}  {vs_bare:>7} "
                f"{vs_direct:>8}"
            )
        for name in GATEWAYS:
            if name in load:
                gw, direct = load[name][c], load[DIRECT][c]
                print(
                    f"{'':>4}  added latency ({name} - direct): p50 "
                    f"+{gw['p50_ms'] - direct['p50_ms']:.3f} ms, p99 "
                    f"+{gw['p99_ms'] - direct['p99_ms']:.3f} ms"
                )
    metering = report["metering"]
    print(
        f"metering: {metering['usage_rows']} usage rows committed for "
        f"{metering['gateway_requests_measured']} measured gateway requests "
        "(+ warm-up and requests cut off when wrk stops)"
    )

    if "stream" in report:
        stream = report["stream"]
        print()
        print(
            f"== Streaming from llama.cpp (SmolLM2-135M, {settings['llama_threads'] or 'all'} "
            f"thread(s)): {settings['stream_runs']} runs per target, {settings['max_tokens']} "
            "tokens, medians =="
        )
        header = (
            f"{'target':<9} {'TTFT ms':>9} {'decode tok/s':>13} {'end-to-end tok/s':>17} "
            f"{'tokens':>7}"
        )
        print(header)
        print("-" * len(header))
        for name in (DIRECT, GATEWAY):
            s = stream[name]
            print(
                f"{name:<9} {s['ttft_ms']:9.1f} {s['decode_tps']:13.1f} "
                f"{s['end_to_end_tps']:17.1f} {s['tokens']:7.0f}"
            )
        per_token = stream[GATEWAY]["server_cpu_us_per_token"]
        print(
            f"gateway CPU per streamed token: {per_token:.0f} us, i.e. "
            f"{_pct(per_token * stream[GATEWAY]['decode_tps'] / 1e6)} of one core at "
            f"{stream[GATEWAY]['decode_tps']:.0f} tok/s (relay, metering, HTTP on both sides)"
        )
        paired = stream["paired"]
        print(
            f"gateway ÷ direct (median over paired runs): TTFT {paired['ttft_ratio']:.2f}x "
            f"({paired['ttft_added_ms']:+.1f} ms), decode tok/s "
            f"{_pct(paired['decode_tps_ratio'])}, end-to-end tok/s "
            f"{_pct(paired['end_to_end_tps_ratio'])}"
        )

    print()
    print("== Resident memory (RSS) ==")
    mib = 1024 * 1024
    idle, after, peak = report["rss_idle"], report["rss_after_load"], report["rss_peak"]
    for name in idle:
        print(
            f"{name:<11} idle {idle[name] / mib:6.1f} MiB   after load "
            f"{after[name] / mib:6.1f} MiB   peak {peak[name] / mib:6.1f} MiB   "
            f"({ratio(after[name], after[BARE]):.2f}x bare ASGI after load)"
        )
    print(f"gateway growth under load: {(after[GATEWAY] - idle[GATEWAY]) / mib:+.1f} MiB")
    print("event loops: " + ", ".join(f"{n} {loop}" for n, loop in report["event_loop"].items()))
    if "ablation" in report:
        print_ablation(report["ablation"], report)

    print()
    print("== Targets ==")
    for target in targets(report):
        print(f"{target.verdict}  {target.name}: measured {target.measured}")

    if "profile" in report and "self_lines" in report["profile"]:
        profile = report["profile"]
        samples = max(1, profile["samples"])
        print()
        print(
            f"== Gateway hotspots (py-spy, {profile['samples']} samples at "
            f"{profile['rps_while_profiled']:.0f} req/s) =="
        )
        print("self time by package:")
        for name, count in profile["by_package"]:
            print(f"  {count / samples:6.1%}  {name}")
        print("by the innermost gptapi line on the stack (where the time is spent from):")
        for name, count in profile["gptapi_sites"]:
            print(f"  {count / samples:6.1%}  {name}")
        print("self time by line:")
        for name, count in profile["self_lines"]:
            print(f"  {count / samples:6.1%}  {name}")
        print("inclusive time (gptapi frames):")
        for name, count in profile["inclusive"]:
            if "gptapi/" in name and "cli/" not in name:
                print(f"  {count / samples:6.1%}  {name}")
    machine = report["machine"]
    print()
    print(
        f"machine: {machine['cpus']} CPUs, load average before {machine['load_before'][0]:.2f}, "
        f"after {machine['load_after'][0]:.2f}; gateway code {report['source']}; "
        f"bench took {report['elapsed_seconds']:.0f}s"
    )


def print_ablation(ablation: dict[str, Any], report: dict[str, Any]) -> None:
    load: dict[str, dict[str, dict[str, Any]]] = ablation["load"]
    bare = report["load"][BARE]
    print()
    print(
        "== What-if gateways (bench/ablation.py; monkeypatched, measured together with the "
        "unmodified gateway) =="
    )
    for name, modes in ablation["modes"].items():
        print(f"  {name}: {modes}")
    header = (
        f"{'conc':>4}  {'variant':<18} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'cpu us/req':>10} {'added p50':>9} {'÷ gateway':>9} {'÷ bare*':>8}"
    )
    print(header)
    print("-" * len(header))
    for c in sorted(load[GATEWAY], key=int):
        for name in load:
            s = load[name][c]
            added = s["p50_ms"] - load[DIRECT][c]["p50_ms"] if name != DIRECT else 0.0
            vs_gateway = _pct(ratio(s["rps"], load[GATEWAY][c]["rps"])) if name != DIRECT else ""
            vs_bare = _pct(ratio(s["rps"], bare[c]["rps"])) if c in bare and name != DIRECT else ""
            print(
                f"{c:>4}  {name:<18} {s['rps']:8.0f} {_ms(s['p50_ms']):>8} {_ms(s['p99_ms']):>8} "
                f"{s['cpu_us_per_request']:>10.0f} "
                f"{(f'{added:+.3f}' if name != DIRECT else ''):>9} {vs_gateway:>9} {vs_bare:>8}"
            )
    print("* against bare ASGI's req/s from the main measurement (a different time window)")


def save(report: dict[str, Any], path: Path | None) -> None:
    if path is None:
        RESULTS_DIR.mkdir(exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        path = RESULTS_DIR / f"{stamp}.json"
    path.write_text(json.dumps(report, indent=2, default=str))
    step(f"raw results: {path}")
