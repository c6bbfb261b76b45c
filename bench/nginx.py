"""nginx as the fastest possible upstream: static answers for the chat completion, /health,
/props and the token counting endpoints the gateway calls after a client disconnect, on a
free loopback port, from a config in the run's temp dir."""

from __future__ import annotations

import signal
from pathlib import Path

from bench.payloads import CHAT_COMPLETION, HEALTH, INPUT_TOKENS, PROPS, TOKENIZE, compact
from bench.procs import Managed, free_port, wait_ready

NOT_FOUND = {"error": {"code": 404, "message": "File Not Found", "type": "not_found_error"}}


def _quoted(body: bytes) -> str:
    text = body.decode()
    if "$" in text:
        raise ValueError("nginx would interpolate '$' in a return body")
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def config(prefix: Path, port: int) -> str:
    temp = prefix / "temp"
    return f"""
daemon off;
master_process on;
worker_processes 1;
pid {prefix / "nginx.pid"};
error_log {prefix / "error.log"} warn;

events {{
    worker_connections 8192;
    multi_accept on;
}}

http {{
    access_log off;
    server_tokens off;
    keepalive_requests 10000000;
    keepalive_timeout 300s;
    client_body_buffer_size 64k;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    default_type application/json;

    server {{
        listen 127.0.0.1:{port} backlog=4096;

        location = /v1/chat/completions {{
            return 200 {_quoted(compact(CHAT_COMPLETION))};
        }}
        location = /v1/chat/completions/input_tokens {{
            return 200 {_quoted(compact(INPUT_TOKENS))};
        }}
        location = /tokenize {{
            return 200 {_quoted(compact(TOKENIZE))};
        }}
        location = /health {{
            return 200 {_quoted(compact(HEALTH))};
        }}
        location = /props {{
            return 200 {_quoted(compact(PROPS))};
        }}
        location / {{
            return 404 {_quoted(compact(NOT_FOUND))};
        }}
    }}
}}
"""


def start_nginx(binary: str, prefix: Path) -> tuple[Managed, str]:
    """The running nginx and its base URL."""
    prefix.mkdir(parents=True, exist_ok=True)
    (prefix / "temp").mkdir(exist_ok=True)
    port = free_port()
    conf = prefix / "nginx.conf"
    conf.write_text(config(prefix, port))
    managed = Managed(
        "nginx",
        [binary, "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "error.log")],
        prefix / "nginx.out",
        stop_signal=signal.SIGTERM,
    )
    base_url = f"http://127.0.0.1:{port}"
    wait_ready(base_url + "/health", managed, timeout=15)
    return managed, base_url
