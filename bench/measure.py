"""The measurements: wrk against each target in turn (req/s, latency percentiles, the server's
own CPU time per request), streams from llama.cpp straight and through the gateway, and
py-spy samples of the gateway under load. Each returns plain dicts for the JSON report."""

from __future__ import annotations

import asyncio
import functools
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench import profiling, streaming
from bench.loadgen import WrkResult, run_wrk
from bench.payloads import stream_request
from bench.procs import Managed, cpu_seconds
from bench.progress import step
from bench.stats import median, summarize

BARE, DIRECT, GATEWAY = "bare-asgi", "direct", "gateway"
# The gateway again, with the same conversation through the Responses API, and with a tool
# declared: what those drop-in features cost next to a plain chat request.
RESPONSES, TOOLS = "responses", "tools"
FEATURES = (RESPONSES, TOOLS)
CHAT_PATH = "/v1/chat/completions"
RESPONSES_PATH = "/v1/responses"

Runs = dict[str, dict[int, list[WrkResult]]]
CpuPerRequest = dict[str, dict[int, list[float]]]


class LoadSet:
    """Targets measured together: wrk against each in turn, rotating the order every round,
    with each server's own CPU time per request from /proc."""

    def __init__(
        self,
        wrk: str,
        scripts: dict[str, Path],
        urls: dict[str, str],
        cpu_pids: dict[str, list[int]],
    ) -> None:
        self.wrk = wrk
        self.scripts = scripts
        self.urls = urls
        self.cpu_pids = cpu_pids

    def warm_up(self, seconds: int = 2) -> None:
        """Connection pools, key cache, credit account, code paths."""
        for name, url in self.urls.items():
            run_wrk(self.wrk, url, self.scripts[name], connections=16, seconds=seconds)

    def measure(
        self, concurrencies: list[int], rounds: int, seconds: int, watch: list[Managed]
    ) -> tuple[Runs, CpuPerRequest]:
        names = tuple(self.urls)
        raw: Runs = {n: {c: [] for c in concurrencies} for n in names}
        cpu: CpuPerRequest = {n: {c: [] for c in concurrencies} for n in names}
        total = rounds * len(concurrencies) * len(names)
        done = 0
        for index in range(rounds):
            shift = index % len(names)
            order = names[shift:] + names[:shift]
            for connections in concurrencies:
                for name in order:
                    for proc in watch:
                        proc.check_alive()
                    result, cpu_us = self._one(name, connections, seconds)
                    raw[name][connections].append(result)
                    cpu[name][connections].append(cpu_us)
                    done += 1
                    flag = f"  {result.errors} ERRORS" if result.errors else ""
                    step(
                        f"[{done:2d}/{total}] round {index + 1} c={connections:<3d} "
                        f"{name:<10} {result.rps:8.0f} req/s  p50 {result.p50_ms:7.3f} ms  "
                        f"p99 {result.p99_ms:7.3f} ms  cpu {cpu_us:5.0f} us/req{flag}"
                    )
                    time.sleep(0.3)
        return raw, cpu

    def _one(self, name: str, connections: int, seconds: int) -> tuple[WrkResult, float]:
        """One wrk run, and the server's CPU microseconds per completed request during it."""
        before = cpu_seconds(self.cpu_pids[name])
        result = run_wrk(
            self.wrk, self.urls[name], self.scripts[name], connections=connections, seconds=seconds
        )
        used = cpu_seconds(self.cpu_pids[name]) - before
        return result, used * 1e6 / max(1, result.requests)


def load_report(raw: Runs, cpu: CpuPerRequest) -> dict[str, Any]:
    """Every wrk run (`load_raw`) and the medians over rounds (`load`), by target and
    concurrency."""
    return {
        "load_raw": {
            name: {
                str(c): [
                    asdict(r) | {"cpu_us_per_request": u}
                    for r, u in zip(runs, cpu[name][c], strict=True)
                ]
                for c, runs in by_c.items()
            }
            for name, by_c in raw.items()
        },
        "load": {
            name: {str(c): asdict(summarize(runs, cpu[name][c])) for c, runs in by_c.items()}
            for name, by_c in raw.items()
        },
    }


def stream_report(
    direct_url: str,
    gateway_url: str,
    auth: dict[str, str],
    gateway_pid: int,
    *,
    runs: int,
    max_tokens: int,
) -> dict[str, Any]:
    """Streams from llama.cpp, straight and through the gateway, interleaved: every sample
    (`stream_raw`), medians per target and medians over adjacent pairs (`stream`)."""
    step(f"streaming: {runs} runs per target, {max_tokens} tokens, temperature 0, interleaved")
    samples = asyncio.run(
        streaming.compare(
            {
                DIRECT: (direct_url + CHAT_PATH, {"Content-Type": "application/json"}, None),
                GATEWAY: (
                    gateway_url + CHAT_PATH,
                    auth,
                    functools.partial(cpu_seconds, [gateway_pid]),
                ),
            },
            stream_request(max_tokens),
            runs=runs,
            progress=step,
        )
    )
    summary: dict[str, Any] = {name: _stream_medians(values) for name, values in samples.items()}
    pairs = list(zip(samples[DIRECT], samples[GATEWAY], strict=True))
    summary["paired"] = {
        "decode_tps_ratio": median([g.decode_tps / d.decode_tps for d, g in pairs]),
        "end_to_end_tps_ratio": median([g.end_to_end_tps / d.end_to_end_tps for d, g in pairs]),
        "ttft_ratio": median([g.ttft_ms / d.ttft_ms for d, g in pairs]),
        "ttft_added_ms": median([g.ttft_ms - d.ttft_ms for d, g in pairs]),
    }
    return {
        "stream_raw": {name: [asdict(s) for s in values] for name, values in samples.items()},
        "stream": summary,
    }


def _stream_medians(values: list[streaming.StreamSample]) -> dict[str, float | None]:
    per_token = [s.server_cpu_us_per_token for s in values if s.server_cpu_us_per_token]
    return {
        "ttft_ms": median([s.ttft_ms for s in values]),
        "decode_tps": median([s.decode_tps for s in values]),
        "end_to_end_tps": median([s.end_to_end_tps for s in values]),
        "tokens": median([float(s.tokens) for s in values]),
        "server_cpu_us_per_token": median(per_token) if per_token else None,
    }


def profile_gateway(
    wrk: str,
    gateway: Managed,
    url: str,
    script: Path,
    work: Path,
    *,
    connections: int,
    seconds: int,
    keep: bool,
    flamegraphs: Path | None = None,
) -> dict[str, Any]:
    """py-spy on the gateway while wrk loads it; the hotspots ranked (bench/profiling.py).
    With `flamegraphs`, also an SVG flame graph at c=1 and at `connections` there."""
    py_spy = profiling.ensure_py_spy()
    output = work / "gateway.pyspy.txt"
    step(f"profiling the gateway with py-spy for {seconds:g}s at c={connections}")
    rps, errors = _record(py_spy, wrk, gateway, url, script, connections, seconds, output)
    if errors is not None:
        step(f"py-spy failed: {errors}")
        return {"error": errors}
    spots = profiling.analyse(output)
    step(f"py-spy: {spots.samples} samples while serving {rps:.0f} req/s")
    if keep:
        step(f"raw py-spy stacks: {output}")
    report: dict[str, Any] = asdict(spots) | {"rps_while_profiled": rps}
    if flamegraphs is not None:
        flamegraphs.mkdir(parents=True, exist_ok=True)
        report["flamegraphs"] = {}
        for c in sorted({1, connections}):
            svg = flamegraphs / f"gateway-c{c}.svg"
            step(f"flame graph at c={c} for {seconds:g}s: {svg}")
            rps, errors = _record(py_spy, wrk, gateway, url, script, c, seconds, svg, svg=True)
            if errors is None:
                title = f"gateway at c={c}: {rps:.0f} req/s under wrk, py-spy at 200 Hz"
                profiling.retitle(svg, title)
            report["flamegraphs"][str(c)] = {"path": str(svg), "rps": rps, "error": errors}
    return report


def _record(
    py_spy: str,
    wrk: str,
    gateway: Managed,
    url: str,
    script: Path,
    connections: int,
    seconds: int,
    output: Path,
    *,
    svg: bool = False,
) -> tuple[float, str | None]:
    """py-spy records while wrk runs: wrk's req/s, and py-spy's error if it failed."""
    recorder = profiling.start_record(py_spy, gateway.pid, seconds, output, svg=svg)
    time.sleep(0.5)
    result = run_wrk(wrk, url, script, connections=connections, seconds=seconds)
    _, errors = recorder.communicate(timeout=seconds + 30)
    if recorder.returncode != 0 or not output.exists():
        return result.rps, errors.decode(errors="replace").strip() or "no output"
    return result.rps, None
