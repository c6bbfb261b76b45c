"""The gateway benchmark in its smoke mode, so it can never silently stop working: every
target starts, answers the chat request correctly and takes load without an error. Nothing
here looks at a timing; `make bench` measures."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from bench.measure import BARE, DIRECT, FEATURES, GATEWAY
from bench.peers import STARTERS
from bench.scaling import GATEWAY_PG, GATEWAY_REDIS, processes_name

ROOT = Path(__file__).resolve().parents[2]


def run_smoke(module: str, tmp_path: Path) -> tuple[subprocess.CompletedProcess[str], Any]:
    """`python -m module --smoke`, which must succeed; the run and the report it wrote."""
    results = tmp_path / "report.json"
    run = subprocess.run(
        [sys.executable, "-m", module, "--smoke", "--json", str(results)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=540,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return run, json.loads(results.read_text())


# About 20 s on a quiet machine (more with the peers installed); a crowded one can take
# minutes to start llama.cpp and the peers.
@pytest.mark.timeout(600)
def test_every_bench_target_runs_and_answers_correctly(tmp_path: Path) -> None:
    run, report = run_smoke("bench", tmp_path)

    peers = set(report["peers"])
    # Every peer either ran or says why not; none is silently dropped.
    assert peers | set(report["peers_skipped"]) == set(STARTERS)
    scaled = {GATEWAY_PG, GATEWAY_REDIS, processes_name(report["settings"]["processes"])}
    targets = {BARE, DIRECT, GATEWAY, *FEATURES} | scaled | peers
    assert set(report["answers"]) == targets
    assert set(report["answers"].values()) == {"ok"}
    for name in targets:
        for concurrency, summary in report["load"][name].items():
            assert summary["requests"] > 0, (name, concurrency)
            assert summary["errors"] == 0, (name, concurrency, summary)

    # Every measured gateway request was billed (plus warm-up and cut-off ones).
    metering = report["metering"]
    assert metering["usage_rows"] >= metering["gateway_requests_measured"] > 0

    # The same streamed completion, straight from llama.cpp and through the gateway.
    raw = report["stream_raw"]
    tokens = report["settings"]["max_tokens"]
    assert [s["tokens"] for s in raw[DIRECT]] == [s["tokens"] for s in raw[GATEWAY]] == [tokens]
    assert report["event_loop"] == "uvloop loaded"
    assert report["scaling"]["processes"] >= 2
    assert "Targets" not in run.stdout  # a smoke run judges no target


@pytest.mark.timeout(600)
def test_the_soak_runs_and_samples_memory_and_descriptors(tmp_path: Path) -> None:
    _, report = run_smoke("bench.soak", tmp_path)
    assert len(report["samples"]) >= 3
    assert all(s["rss_mib"] > 0 and s["fds"] > 0 for s in report["samples"])
    assert len(report["samples"][0]["pids"]) == 1 + report["settings"]["processes"]
    assert report["requests"] > 0
    assert report["non_2xx"] == report["errors"] == 0
    assert report["same_processes"]
