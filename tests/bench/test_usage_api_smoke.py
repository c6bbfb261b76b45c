"""The usage API benchmark on a small load, so it can never silently stop working: every
endpoint answers, and the retention of the oldest month drops its partition and leaves the
organisation's totals as they were. Nothing here looks at a timing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(600)
def test_usage_benchmark_runs_and_retention_keeps_the_totals() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "bench.usage_api", "--rows", "20000", "--rounds", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=540,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "export.csv, 1 hour" in run.stdout
    assert "dropped usage_logs_" in run.stdout
    assert "totals over the whole range are the same" in run.stdout
