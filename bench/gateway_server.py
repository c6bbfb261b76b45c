"""The real gateway on uvicorn + uvloop + httptools, one process.

    python -m bench.gateway_server --port 8123      (settings from the environment)

It does what `gptapi gateway` does (gptapi.cli.main: register the FLEET_CONFIG pools, then
serve `create_app(settings)` with the same uvicorn Config) with one difference: uvicorn
owns the event loop (`Server.run()`), so `loop="uvloop"` takes effect. `gptapi gateway`
awaits `Server.serve()` inside its own `asyncio.run()`, which leaves uvicorn's loop choice
unused and serves on the stock asyncio loop; the bench measures that too, as `gateway-cli`.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import socket

import uvicorn

from gptapi.app import create_app
from gptapi.cli.main import _prepare
from gptapi.config import get_settings


class _Server(uvicorn.Server):
    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        loop = asyncio.get_running_loop()
        print(f"event loop: {type(loop).__module__}.{type(loop).__name__}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    settings = get_settings().model_copy(update={"host": args.host, "port": args.port})
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    asyncio.run(_prepare(settings, None, embedded=False))
    app = create_app(settings)
    modes = {mode for mode in os.environ.get("BENCH_ABLATE", "").split(",") if mode}
    if modes:  # what-if variants for `python -m bench --ablate`; see bench/ablation.py
        from bench.ablation import apply

        app = apply(modes, settings, app)
        print(f"ablation: {', '.join(sorted(modes))}", flush=True)
    server = _Server(
        uvicorn.Config(
            app,
            host=settings.host,
            port=settings.port,
            loop="uvloop",
            http="httptools",
            access_log=False,
            log_level=settings.log_level,
            timeout_graceful_shutdown=30,
        )
    )
    server.run()


if __name__ == "__main__":
    main()
