"""A local double of RunPod's REST API v2 for pods, on a real loopback port, with the pods'
HTTP proxy beside it.

Wire format (RunPod's published v2 OpenAPI): `Authorization: Bearer <key>`; errors are
`application/problem+json` (`{"title", "status", "detail"}`). `POST /v2/pods` with the
nested body (`name`, `image`, `gpu: {id, count}`, `cloud`, `ports`, `env`, `args` as one
string, `disk` for the container disk, `mounts: {persistent: {size, path}}` for the volume,
`startSsh`, `startJupyter`) answers 201 and the pod; `GET /v2/pods` (`{"pods": [...]}`),
`GET /v2/pods/{id}` (404 once terminated), `GET /v2/pods/{id}/logs`
(`{"container": [...], "system": [...]}`, the container's lines as `write_log` adds
them), and `POST /v2/pods/{id}/action` with
`{"action": "start|stop|restart|terminate"}`: 200 and the pod, 204 for terminate, 409 for an
action the pod's status does not allow. A pod's `status` is STARTING, RUNNING, EXITED or
ERROR; while RUNNING, `runtime` reports uptime, GPU utilisation and the public IP and port of
each `tcp` port, and `ssh.direct` how to reach `22/tcp`.

The proxy answers `/proxy/{pod}-{port}/health`: 502 while the pod is not running, 503 while
it "loads", 200 once ready. Tests drive what RunPod would do: `no_capacity` (GPU ids with no
machine free), `fail_next` (a 429, 5xx or any answer for the next API calls), `die`, and
`never_ready` (pods, by name, whose container never comes up: STARTING, never passing
/health); pods are ready after `ready_after` health probes.
"""

from __future__ import annotations

import itertools
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

API_KEY = "rpa_double_key"
PUBLIC_IP = "203.0.113.7"
NO_CAPACITY = (
    "There are no longer any instances available with the requested specifications. "
    "Please refresh and try again."
)
# Which actions each status allows, as RunPod publishes them in a pod's `actions`.
ACTIONS = {
    "STARTING": ["stop", "terminate"],
    "RUNNING": ["stop", "restart", "terminate"],
    "EXITED": ["start", "terminate"],
    "ERROR": ["start", "terminate"],
}


@dataclass
class Pod:
    id: str
    body: dict[str, Any]
    status: str = "RUNNING"
    probes: int = 0
    ready: bool = False
    actions: list[str] = field(default_factory=list)
    log: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.log.append(f"llama-server for {self.body['name']} listening on 8080")

    def tcp_ports(self) -> list[dict[str, Any]]:
        ports = []
        for index, entry in enumerate(self.body.get("ports") or []):
            number, _, kind = str(entry).partition("/")
            if kind == "tcp":
                ports.append(
                    {
                        "private": int(number),
                        "public": 40100 + index,
                        "type": "tcp",
                        "ip": PUBLIC_IP,
                    }
                )
        return ports

    def view(self) -> dict[str, Any]:
        gpu = self.body["gpu"]
        running = self.status == "RUNNING"
        ssh_port = next((p for p in self.tcp_ports() if p["private"] == 22), None)
        direct = None
        if running and ssh_port is not None:
            direct = {
                "host": PUBLIC_IP,
                "port": ssh_port["public"],
                "username": "root",
                "command": f"ssh root@{PUBLIC_IP} -p {ssh_port['public']}",
            }
        proxy_user = f"{self.id}-64411eb2"
        return {
            "id": self.id,
            "name": self.body["name"],
            "image": self.body["image"],
            "args": self.body.get("args", ""),
            "disk": self.body.get("disk", 50),
            "ports": self.body.get("ports", []),
            "env": self.body.get("env", {}),
            "registry": None,
            "status": self.status,
            "actions": ACTIONS[self.status],
            "mounts": self.body.get("mounts", {}),
            "gpu": {"id": gpu["id"], "count": gpu["count"]},
            "cloud": self.body.get("cloud", "SECURE"),
            "dataCenterId": "US-TX-3",
            "cudaVersion": "12.8",
            "ssh": {
                "proxy": {
                    "host": "ssh.runpod.io",
                    "port": 22,
                    "username": proxy_user,
                    "command": f"ssh {proxy_user}@ssh.runpod.io",
                },
                "direct": direct,
            },
            "template": None,
            "cost": 1.99 if running else 0.0,
            "locked": False,
            "globalNetworking": {"enabled": False},
            "runtime": {
                "uptime": 42,
                "gpus": [{"util": 78, "memoryUtil": 40}],
                "ports": self.tcp_ports(),
            }
            if running
            else None,
            "createdAt": "2026-12-01T12:00:00Z",
            "startedAt": "2026-12-01T12:00:05Z",
        }


class RunPodDouble:
    def __init__(self) -> None:
        self.pods: dict[str, Pod] = {}
        self.created: list[dict[str, Any]] = []
        self.no_capacity: set[str] = set()
        self.never_ready: set[str] = set()  # pod names
        self.ready_after = 2
        self.forced: list[tuple[int, dict[str, Any], dict[str, str]]] = []
        self.lock = threading.Lock()
        self._ids = itertools.count(1)
        double = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: Any) -> None:
                pass

            def do_GET(self) -> None:
                double._handle(self, "GET")

            def do_POST(self) -> None:
                double._handle(self, "POST")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    @property
    def proxy_url(self) -> str:
        return self.base_url + "/proxy/{pod_id}-{port}"

    def start(self) -> RunPodDouble:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # -- what RunPod would do
    def fail_next(
        self, status: int, detail: str | None = None, headers: dict[str, str] | None = None
    ) -> None:
        body = {"title": "Error", "status": status, "detail": detail or f"forced {status}"}
        self.forced.append((status, body, headers or {}))

    def write_log(self, pod_id: str, line: str) -> None:
        """The pod's container writes a line to its log."""
        with self.lock:
            self.pods[pod_id].log.append(line)

    def die(self, pod_id: str, status: str = "EXITED") -> None:
        with self.lock:
            self.pods[pod_id].status = status

    # -- the wire
    def _handle(self, request: BaseHTTPRequestHandler, method: str) -> None:
        path = request.path
        if path.startswith("/proxy/"):
            self._proxy(request, path.removeprefix("/proxy/"))
            return
        if request.headers.get("Authorization") != f"Bearer {API_KEY}":
            self._send(request, 401, _problem(401, "invalid bearer token"))
            return
        with self.lock:
            if self.forced:
                status, body, headers = self.forced.pop(0)
                self._send(request, status, body, headers)
                return
        length = int(request.headers.get("Content-Length") or 0)
        raw = request.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            self._send(request, 400, _problem(400, "invalid JSON"))
            return
        parts = path.removeprefix("/v2/").split("/")
        with self.lock:
            status, answer = self._route(method, parts, body)
        self._send(request, status, answer)

    def _route(self, method: str, parts: list[str], body: dict[str, Any]) -> tuple[int, Any]:
        if parts[0] != "pods":
            return 404, _problem(404, "not found")
        if len(parts) == 1:
            if method == "GET":
                return 200, {"pods": [pod.view() for pod in self.pods.values()]}
            return self._create(body)
        pod = self.pods.get(parts[1])
        if pod is None:
            return 404, _problem(404, "pod not found")
        if len(parts) == 2 and method == "GET":
            return 200, pod.view()
        if parts[2:] == ["logs"] and method == "GET":
            return 200, {
                "container": list(pod.log),
                "system": ["pulling image", "container started"],
            }
        if parts[2:] == ["action"] and method == "POST":
            return self._action(pod, body.get("action"))
        return 404, _problem(404, "not found")

    def _action(self, pod: Pod, action: Any) -> tuple[int, Any]:
        if action not in ("start", "stop", "restart", "terminate"):
            return 422, _problem(422, f"unknown action {action!r}")
        if action not in ACTIONS[pod.status]:
            return 409, _problem(409, f"cannot {action} a pod in status {pod.status}")
        pod.actions.append(str(action))
        if action == "terminate":
            del self.pods[pod.id]
            return 204, None
        if action == "stop":
            pod.status, pod.ready, pod.probes = "EXITED", False, 0
        else:
            pod.status, pod.ready, pod.probes = self._booted(pod.body), False, 0
        return 200, pod.view()

    def _booted(self, body: dict[str, Any]) -> str:
        return "STARTING" if body["name"] in self.never_ready else "RUNNING"

    def _create(self, body: dict[str, Any]) -> tuple[int, Any]:
        gpu = body.get("gpu")
        if not body.get("name") or not body.get("image"):
            return 422, _problem(422, "name and image are required")
        if not isinstance(gpu, dict) or not gpu.get("id") or not gpu.get("count"):
            return 400, _problem(400, "exactly one of gpu or cpu must be set")
        if not isinstance(body.get("args", ""), str):
            return 422, _problem(422, "args: expected string")
        persistent = (body.get("mounts") or {}).get("persistent")
        if persistent is not None and (
            persistent.get("size", 0) < 10 or not persistent.get("path")
        ):
            return 422, _problem(422, "mounts.persistent: size must be at least 10, path required")
        if gpu["id"] in self.no_capacity:
            return 400, _problem(400, NO_CAPACITY)
        pod = Pod(f"pod{next(self._ids):04d}xyz", body, status=self._booted(body))
        self.pods[pod.id] = pod
        self.created.append(body)
        return 201, pod.view()

    def _proxy(self, request: BaseHTTPRequestHandler, rest: str) -> None:
        target, _, path = rest.partition("/")
        pod_id = target.rpartition("-")[0]
        with self.lock:
            pod = self.pods.get(pod_id)
            if pod is None or pod.status != "RUNNING":
                status = 502
            elif path != "health":
                status = 404
            else:
                pod.probes += 1
                if pod.probes >= self.ready_after:
                    pod.ready = True
                status = 200 if pod.ready else 503
        self._send(request, status, {"status": "ok" if status == 200 else "loading"})

    @staticmethod
    def _send(
        request: BaseHTTPRequestHandler,
        status: int,
        body: Any,
        headers: dict[str, str] | None = None,
    ) -> None:
        request.send_response(status)
        if body is None:
            request.send_header("Content-Length", "0")
            request.end_headers()
            return
        data = json.dumps(body).encode()
        kind = "application/problem+json" if status >= 400 else "application/json"
        request.send_header("Content-Type", kind)
        request.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            request.send_header(name, value)
        request.end_headers()
        request.wfile.write(data)


def _problem(status: int, detail: str) -> dict[str, Any]:
    titles = {400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 409: "Conflict"}
    return {"title": titles.get(status, "Unprocessable Entity"), "status": status, "detail": detail}
