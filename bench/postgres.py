"""A PostgreSQL cluster of the bench's own (`initdb` into the work dir, `postgres` on a free
port) with durability off: commits cost no disk flush, so the scaled-out gateways measure
themselves and not the machine's disk, as nginx stands in for a fast upstream. It runs as
the postgres user when the bench runs as root, which PostgreSQL refuses to run as."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from bench.procs import Managed, free_port, wait_port

SETTINGS = ("fsync=off", "synchronous_commit=off", "full_page_writes=off", "max_connections=200")


def start_postgres(work: Path, children: list[Managed]) -> str:
    """Its URL (database `postgres`), once it accepts connections."""
    home = work / "postgres"
    home.mkdir()
    run_as: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(work, "postgres")
        shutil.chown(home, "postgres")
        # setpriv execs in place (runuser would stay between, not passing the stop signal on)
        run_as = ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups"]
    data = home / "data"
    subprocess.run(
        [*run_as, "initdb", "-D", str(data), "-U", "postgres", "--auth=trust", "--no-sync"],
        check=True,
        capture_output=True,
    )
    port = free_port()
    options = [f"-c{setting}" for setting in SETTINGS]
    command = ["postgres", "-D", str(data), "-p", str(port), "-k", str(home), *options]
    server = Managed(
        "postgres",
        [*run_as, *command, "-c", "listen_addresses=127.0.0.1"],
        work / "postgres.log",
        cwd=home,
        stop_signal=2,  # SIGINT: PostgreSQL's fast shutdown
    )
    children.append(server)
    wait_port(port, server, timeout=60)
    return f"postgresql+asyncpg://postgres@127.0.0.1:{port}/postgres"
