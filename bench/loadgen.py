"""wrk as the load generator: a Lua script sets the POST body and headers and, in `done`,
prints the summary and exact latency percentiles on one line the bench parses."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

RESULT_LINE = re.compile(r"^BENCH_RESULT (.*)$", re.MULTILINE)

_DONE = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH_RESULT requests=%d duration_us=%d bytes=%d connect=%d read=%d write=%d "
    .. "status=%d timeout=%d p50_us=%d p90_us=%d p99_us=%d mean_us=%.1f max_us=%d\\n",
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write,
    e.status, e.timeout, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.mean, latency.max))
end
"""


def _lua_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def write_script(path: Path, body: bytes, headers: Mapping[str, str]) -> Path:
    lines = ['wrk.method = "POST"', f"wrk.body = {_lua_string(body.decode())}"]
    lines += [f"wrk.headers[{_lua_string(k)}] = {_lua_string(v)}" for k, v in headers.items()]
    path.write_text("\n".join(lines) + "\n" + _DONE)
    return path


@dataclass(frozen=True, slots=True)
class WrkResult:
    requests: int
    seconds: float
    errors: int  # connect, read, write, timeouts and non-2xx answers
    non_2xx: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def threads_for(connections: int, cpus: int = 2) -> int:
    return max(1, min(connections, cpus))


def run_wrk(
    wrk: str, url: str, script: Path, *, connections: int, seconds: float, timeout: float = 10.0
) -> WrkResult:
    command = [
        wrk,
        f"-c{connections}",
        f"-t{threads_for(connections)}",
        f"-d{max(1, round(seconds))}s",
        f"--timeout={max(1, round(timeout))}s",
        "-s",
        str(script),
        url,
    ]
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=seconds + timeout + 30, check=False
    )
    match = RESULT_LINE.search(result.stdout)
    if result.returncode != 0 or match is None:
        raise RuntimeError(f"wrk failed ({result.returncode}): {result.stdout}{result.stderr}")
    fields = {k: float(v) for k, v in (item.split("=") for item in match.group(1).split())}
    errors = sum(int(fields[k]) for k in ("connect", "read", "write", "status", "timeout"))
    return WrkResult(
        requests=int(fields["requests"]),
        seconds=fields["duration_us"] / 1e6,
        errors=errors,
        non_2xx=int(fields["status"]),
        p50_ms=fields["p50_us"] / 1000,
        p90_ms=fields["p90_us"] / 1000,
        p99_ms=fields["p99_us"] / 1000,
        mean_ms=fields["mean_us"] / 1000,
        max_ms=fields["max_us"] / 1000,
    )
