"""`python -m bench`: the gateway against its upstream called directly and against a bare
ASGI app on the same server stack, in one run on one machine. See bench/README.md."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
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
from bench.procs import Managed, free_port, python_env, rss_bytes, wait_http
from bench.progress import step
from bench.stats import LoadSummary, Target, median, ratio, summarize
from bench.tools import ToolMissing, ensure_tools

BARE, DIRECT, GATEWAY = "bare-asgi", "direct", "gateway"
LOAD_TARGETS = (BARE, DIRECT, GATEWAY)
CHAT_PATH = "/v1/chat/completions"
RESULTS_DIR = Path(__file__).resolve().parent / "results"

TARGET_RPS_SHARE = 0.15  # gateway rps ≥ 15% of bare ASGI at the highest concurrency
TARGET_ADDED_P50_MS = 1.0  # at concurrency 1
TARGET_TPS_SHARE = 0.97  # streaming tokens/s through the gateway vs direct


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--duration", type=float, default=4.0, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds per config")
    parser.add_argument("--concurrency", default="1,16,64", help="comma-separated wrk -c values")
    parser.add_argument("--stream-runs", type=int, default=5, help="streams per target")
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
    parser.add_argument("--profile-seconds", type=float, default=10.0)
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


def run(
    args: argparse.Namespace, tools: dict[str, str], work: Path, children: list[Managed]
) -> dict[str, Any]:
    concurrencies = [int(c) for c in args.concurrency.split(",")]
    report: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "load_before": os.getloadavg()},
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

    step("starting the gateway (gptapi gateway, one process)")
    gateway, gateway_url = platform.start_gateway(setup, work / "gateway.log")
    children.append(gateway)
    auth = {"Authorization": f"Bearer {setup.secret}", "Content-Type": "application/json"}
    body = compact(CHAT_REQUEST)
    # The gateway answers 503 until its first health check of the pool has passed.
    answer = json.loads(wait_http(gateway_url + CHAT_PATH, gateway, data=body, headers=auth))
    assert answer["usage"]["total_tokens"] > 0 and answer["model"] == MODEL, answer
    assert "timings" not in answer, "the gateway should strip llama.cpp timings"
    step(f"gateway ready at {gateway_url} (pid {gateway.pid}); a metered request succeeded")

    urls = {BARE: bare_url, DIRECT: nginx_url, GATEWAY: gateway_url}
    pids = {BARE: bare.pid, GATEWAY: gateway.pid}
    script = write_script(work / "chat.lua", body, auth)
    report["rss_idle"] = {name: rss_bytes(pid)[0] for name, pid in pids.items()}

    # Warm-up: connection pools, key cache, credit account, code paths.
    for name in LOAD_TARGETS:
        run_wrk(tools["wrk"], urls[name] + CHAT_PATH, script, connections=16, seconds=1.5)
    step("warm-up done; measuring (targets rotate each round, medians are reported)")

    raw: dict[str, dict[int, list[WrkResult]]] = {
        name: {c: [] for c in concurrencies} for name in LOAD_TARGETS
    }
    total_runs = args.rounds * len(concurrencies) * len(LOAD_TARGETS)
    done = 0
    for index in range(args.rounds):
        order = LOAD_TARGETS[index % 3 :] + LOAD_TARGETS[: index % 3]
        for connections in concurrencies:
            for name in order:
                gateway.check_alive()
                result = run_wrk(
                    tools["wrk"],
                    urls[name] + CHAT_PATH,
                    script,
                    connections=connections,
                    seconds=args.duration,
                )
                raw[name][connections].append(result)
                done += 1
                flag = f"  {result.errors} ERRORS" if result.errors else ""
                step(
                    f"[{done:2d}/{total_runs}] round {index + 1} c={connections:<3d} "
                    f"{name:<9} {result.rps:8.0f} req/s  p50 {result.p50_ms:7.3f} ms  "
                    f"p99 {result.p99_ms:7.3f} ms{flag}"
                )
                time.sleep(0.3)
    report["rss_after_load"] = {name: rss_bytes(pid)[0] for name, pid in pids.items()}
    report["rss_peak"] = {name: rss_bytes(pid)[1] for name, pid in pids.items()}
    report["load_raw"] = {
        name: {str(c): [asdict(r) for r in runs] for c, runs in by_c.items()}
        for name, by_c in raw.items()
    }
    report["load"] = {
        name: {str(c): asdict(summarize(runs)) for c, runs in by_c.items()}
        for name, by_c in raw.items()
    }
    gateway_requests = sum(r.requests for runs in raw[GATEWAY].values() for r in runs)
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
                    DIRECT: (llama_url + CHAT_PATH, {"Content-Type": "application/json"}),
                    GATEWAY: (gateway_url + CHAT_PATH, auth),
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
            }
            for name, values in samples.items()
        }

    if args.profile:
        report["profile"] = profile_gateway(
            args, tools["wrk"], gateway, gateway_url + CHAT_PATH, script, work, concurrencies
        )
    report["machine"]["load_after"] = os.getloadavg()
    return report


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
    added = load[GATEWAY][low]["p50_ms"] - load[DIRECT][low]["p50_ms"]
    result = [
        Target(
            f"c={high}: gateway req/s ≥ {_pct(TARGET_RPS_SHARE)} of bare ASGI",
            _pct(share),
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
        tps = ratio(report["stream"][GATEWAY]["decode_tps"], report["stream"][DIRECT]["decode_tps"])
        result.append(
            Target(
                f"streaming tokens/s through the gateway ≥ {_pct(TARGET_TPS_SHARE)} of direct",
                _pct(tps),
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
        f"{'conc':>4}  {'target':<9} {'req/s':>8} {'(min-max)':>15} {'p50 ms':>8} "
        f"{'p99 ms':>8} {'errors':>6}  {'÷ bare':>7} {'÷ direct':>8}"
    )
    print(header)
    print("-" * len(header))
    for c in map(str, settings["concurrency"]):
        for name in LOAD_TARGETS:
            s = LoadSummary(**{**load[name][c], "rps_spread": tuple(load[name][c]["rps_spread"])})
            low, high = s.rps_spread
            vs_bare = _pct(ratio(s.rps, load[BARE][c]["rps"])) if name != BARE else ""
            vs_direct = _pct(ratio(s.rps, load[DIRECT][c]["rps"])) if name == GATEWAY else ""
            print(
                f"{c:>4}  {name:<9} {s.rps:8.0f} {f'({low:.0f}-{high:.0f})':>15} "
                f"{_ms(s.p50_ms):>8} {_ms(s.p99_ms):>8} {s.errors:>6}  {vs_bare:>7} "
                f"{vs_direct:>8}"
            )
        gw, direct = load[GATEWAY][c], load[DIRECT][c]
        print(
            f"{'':>4}  added latency (gateway - direct): p50 +{gw['p50_ms'] - direct['p50_ms']:.3f}"
            f" ms, p99 +{gw['p99_ms'] - direct['p99_ms']:.3f} ms"
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
        gw, direct = stream[GATEWAY], stream[DIRECT]
        print(
            f"gateway ÷ direct: TTFT {ratio(gw['ttft_ms'], direct['ttft_ms']):.2f}x "
            f"(+{gw['ttft_ms'] - direct['ttft_ms']:.1f} ms), decode tok/s "
            f"{_pct(ratio(gw['decode_tps'], direct['decode_tps']))}, end-to-end tok/s "
            f"{_pct(ratio(gw['end_to_end_tps'], direct['end_to_end_tps']))}"
        )

    print()
    print("== Resident memory (RSS) ==")
    mib = 1024 * 1024
    idle, after, peak = report["rss_idle"], report["rss_after_load"], report["rss_peak"]
    for name in (GATEWAY, BARE):
        print(
            f"{name:<9} idle {idle[name] / mib:6.1f} MiB   after load {after[name] / mib:6.1f} MiB"
            f"   peak {peak[name] / mib:6.1f} MiB"
        )
    print(
        f"gateway ÷ bare ASGI: idle {ratio(idle[GATEWAY], idle[BARE]):.2f}x, after load "
        f"{ratio(after[GATEWAY], after[BARE]):.2f}x; gateway growth under load "
        f"{(after[GATEWAY] - idle[GATEWAY]) / mib:+.1f} MiB"
    )

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
        f"after {machine['load_after'][0]:.2f}; bench took {report['elapsed_seconds']:.0f}s"
    )


def save(report: dict[str, Any], path: Path | None) -> None:
    if path is None:
        RESULTS_DIR.mkdir(exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        path = RESULTS_DIR / f"{stamp}.json"
    path.write_text(json.dumps(report, indent=2, default=str))
    step(f"raw results: {path}")
