"""Open file descriptors of processes, counted by what they are: sockets by the service at
the other end (a pool to PostgreSQL, Redis or the upstream grows to what the load keeps
open; a leak grows without end), listening sockets, pipes, files and the rest. Linux only:
it reads /proc."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path


def _tcp_peers(pid: int) -> dict[str, tuple[int, int, bool]]:
    """Socket inode -> (local port, remote port, listening) for the process's TCP sockets."""
    peers: dict[str, tuple[int, int, bool]] = {}
    for table in ("tcp", "tcp6"):
        path = Path(f"/proc/{pid}/net/{table}")
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            local, remote, state, inode = fields[1], fields[2], fields[3], fields[9]
            listening = state == "0A"  # TCP_LISTEN
            peers[inode] = (_port(local), _port(remote), listening)
    return peers


def _port(address: str) -> int:
    return int(address.rsplit(":", 1)[1], 16)  # "0100007F:1F90": hexadecimal


def _kind(
    target: str,
    peers: Mapping[str, tuple[int, int, bool]],
    ports: Mapping[int, str],
    served: set[int],
) -> str:
    if target.startswith("socket:["):
        peer = peers.get(target[len("socket:[") : -1])
        if peer is None:
            return "unix socket"
        local, remote, listening = peer
        if listening:
            return "listening"
        if local in served:
            return "client connection"
        return f"to {ports.get(remote, 'other')}"
    if target.startswith("pipe:"):
        return "pipe"
    if target.startswith("anon_inode:"):
        return target[len("anon_inode:") :].strip("[]")
    if target.startswith("/dev/"):
        return "device"
    return "file"


def fd_kinds(pids: Iterable[int], ports: Mapping[int, str], served: Iterable[int]) -> Counter[str]:
    """Descriptors of `pids` by kind. `ports` names services by their port (sockets to them
    count as "to <name>"); sockets on a port in `served` are clients' connections."""
    counts: Counter[str] = Counter()
    served_ports = set(served)
    for pid in pids:
        peers = _tcp_peers(pid)
        directory = f"/proc/{pid}/fd"
        for fd in os.listdir(directory):
            try:
                target = os.readlink(f"{directory}/{fd}")
            except FileNotFoundError:  # closed while listed
                continue
            counts[_kind(target, peers, ports, served_ports)] += 1
    return counts
