"""System tools the bench drives: nginx (the fast static upstream) and wrk (the load
generator), both from Debian. Installed with apt-get when missing."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

from bench.progress import step

# command → Debian package(s) to try, in order
TOOLS: dict[str, tuple[str, ...]] = {
    "nginx": ("nginx-light", "nginx"),
    "wrk": ("wrk",),
}
NGINX_PATHS = ("/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx")


class ToolMissing(RuntimeError):
    pass


def which(command: str) -> str | None:
    found = shutil.which(command)
    if found is None and command == "nginx":
        found = next((path for path in NGINX_PATHS if os.access(path, os.X_OK)), None)
    return found


def ensure_tools(*, install: bool = True) -> dict[str, str]:
    """Paths of nginx and wrk, installing the missing ones with apt-get (as root)."""
    missing = [command for command in TOOLS if which(command) is None]
    if missing:
        packages = " ".join(TOOLS[command][0] for command in missing)
        hint = f"apt-get update && apt-get install -y {packages}"
        if not install:
            raise ToolMissing(f"{', '.join(missing)} not found; install with: {hint}")
        if shutil.which("apt-get") is None:
            raise ToolMissing(f"{', '.join(missing)} not found and apt-get is unavailable")
        if os.geteuid() != 0:
            raise ToolMissing(f"{', '.join(missing)} not found; as root run: {hint}")
        step(f"{', '.join(missing)} not found: installing from Debian ({hint})")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        _apt(["apt-get", "update", "-qq"], env)
        for command in missing:
            for package in TOOLS[command]:
                if _apt(["apt-get", "install", "-y", "-qq", package], env, check=False):
                    break
            if which(command) is None:
                raise ToolMissing(f"could not install {command} ({hint})")
    paths = {command: which(command) for command in TOOLS}
    resolved = {command: path for command, path in paths.items() if path}
    step("tools: " + ", ".join(f"{_version(path)} ({path})" for path in resolved.values()))
    return resolved


def _apt(command: list[str], env: dict[str, str], *, check: bool = True) -> bool:
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0 and check:
        raise ToolMissing(f"{' '.join(command)} failed:\n{result.stdout}{result.stderr}")
    return result.returncode == 0


def _version(path: str) -> str:
    flag = "-v" if path.endswith("nginx") else "--version"
    result = subprocess.run([path, flag], capture_output=True, text=True, check=False)
    text = (result.stdout + result.stderr).strip().splitlines()
    first = text[0] if text else path
    return first.split(":", 1)[-1].strip().split(" [")[0]


def tools_or_exit(program: str, *, install: bool) -> dict[str, str]:
    """`ensure_tools`, or exit 2 saying what is missing."""
    try:
        return ensure_tools(install=install)
    except ToolMissing as exc:
        print(f"{program}: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
