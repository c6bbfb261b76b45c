"""Optional: sample the gateway with py-spy while wrk loads it, and rank the hotspots."""

from __future__ import annotations

import html
import re
import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from bench.progress import step

FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")
SITE_PACKAGES = re.compile(r".*/(?:site-packages|dist-packages|lib/python3\.\d+)/")
# gptapi frames at the bottom of every stack (`python -m gptapi gateway` running the loop):
# not where time is spent from.
ENTRY_POINTS = ("gptapi/__main__.py", "gptapi/cli/")


def ensure_py_spy() -> str:
    found = shutil.which("py-spy") or _venv_bin("py-spy")
    if found:
        return found
    step("py-spy not found: installing it into the venv from PyPI (pip install py-spy)")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "py-spy"],
        check=True,
    )
    found = _venv_bin("py-spy")
    if not found:
        raise RuntimeError("py-spy installed but not found next to the interpreter")
    return found


def _venv_bin(name: str) -> str | None:
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else None


def start_record(
    py_spy: str, pid: int, seconds: float, output: Path, *, svg: bool = False
) -> subprocess.Popen[bytes]:
    """`svg`: a flame graph to look at; otherwise raw stacks for `analyse`."""
    return subprocess.Popen(
        [
            py_spy,
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(int(seconds)),
            "--rate",
            "200",
            "--format",
            "flamegraph" if svg else "raw",
            "--nonblocking",
            "--output",
            str(output),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


TITLE = re.compile(r'(<text id="title"[^>]*>)[^<]*(</text>)')


def retitle(svg: Path, title: str) -> None:
    """py-spy titles a flame graph with its own command line (local paths, a pid): say what
    was measured instead."""
    text = TITLE.sub(lambda m: m[1] + html.escape(title) + m[2], svg.read_text(), count=1)
    svg.write_text(text)


@dataclass(frozen=True, slots=True)
class Hotspots:
    samples: int
    self_lines: list[tuple[str, int]]  # "func (file:line)", samples at the top of the stack
    inclusive: list[tuple[str, int]]  # "func (file:def-line?)" present anywhere in the stack
    by_package: list[tuple[str, int]]  # self samples per package
    gptapi_sites: list[tuple[str, int]]  # samples under the deepest gptapi frame, by line
    gptapi_inclusive: list[tuple[str, int]]  # `inclusive`, gptapi frames only


def short(path: str) -> str:
    stripped = SITE_PACKAGES.sub("", path)
    marker = "/src/"
    return stripped.split(marker, 1)[1] if marker in stripped else stripped


def is_gptapi_code(path: str) -> bool:
    name = short(path)
    return name.startswith("gptapi/") and not name.startswith(ENTRY_POINTS)


def package_of(path: str) -> str:
    name = short(path)
    if name.startswith("gptapi/"):
        parts = name.split("/")
        return "/".join(parts[:3]) if len(parts) > 3 else "/".join(parts[:2])
    head = name.split("/", 1)[0]
    return head.removesuffix(".py") or name


def analyse(raw: Path, top: int = 15) -> Hotspots:
    self_counts: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    ours_inclusive: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    sites: Counter[str] = Counter()
    total = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [FRAME.match(frame) for frame in stack.split(";")]
        parsed = [m for m in frames if m is not None]
        if not parsed:
            continue
        total += count
        leaf = parsed[-1]
        self_counts[f"{leaf['func']} ({short(leaf['file'])}:{leaf['line'] or '?'})"] += count
        packages[package_of(leaf["file"])] += count
        ours = [m for m in parsed if is_gptapi_code(m["file"])]
        if ours:
            site = ours[-1]
            sites[f"{site['func']} ({short(site['file'])}:{site['line'] or '?'})"] += count
        else:
            sites[f"[outside gptapi code] {package_of(leaf['file'])}"] += count
        seen: set[str] = set()
        for match in parsed:
            key = f"{match['func']} ({short(match['file'])})"
            if key not in seen:
                seen.add(key)
                inclusive[key] += count
                if is_gptapi_code(match["file"]):
                    ours_inclusive[key] += count
    return Hotspots(
        total,
        self_counts.most_common(top),
        inclusive.most_common(top * 3),
        packages.most_common(top),
        sites.most_common(top + 5),
        ours_inclusive.most_common(top),
    )
