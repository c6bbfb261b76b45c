"""The landing page over a throttled "Slow 4G" link (Chrome DevTools' profile: 562.5 ms
round trip, 1.44 Mbit/s down, 675 kbit/s up, applied through the DevTools protocol): bytes
transferred and time until the headline is on screen, for a console build served by
`gptapi.console_web`. Compare two builds in one run:

    python -m bench.landing BEFORE_DIST AFTER_DIST

The /api calls the page makes answer 404 here (no platform runs): the headline does not wait
for them, and both builds make the same calls.
"""

from __future__ import annotations

import socket
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI
from tests.web.browser import DESKTOP, chromium

from gptapi.console_web import mount_console

SLOW_4G = {
    "offline": False,
    "latency": 562.5,
    "downloadThroughput": 1.6 * 1024 * 1024 / 8 * 0.9,
    "uploadThroughput": 750 * 1024 / 8 * 0.9,
}
RUNS = 3
HEADLINE = (
    "() => [...document.querySelectorAll('h1')].some(h => h.textContent.includes('OpenAI API'))"
)


def _serve(dist: Path) -> tuple[uvicorn.Server, str]:
    app = FastAPI()
    mount_console(app, dist)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return server, f"http://127.0.0.1:{port}"


def received_into(sizes: list[float]) -> Callable[[dict[str, Any]], None]:
    return lambda event: sizes.append(event["encodedDataLength"])


def measure(dist: Path) -> tuple[int, float]:
    """(bytes transferred, ms to the headline), medians over RUNS cold loads."""
    server, url = _serve(dist)
    sizes, times = [], []
    try:
        with chromium() as browser:
            for _ in range(RUNS):
                context = browser.new_context(viewport=DESKTOP)
                page = context.new_page()
                cdp = context.new_cdp_session(page)
                cdp.send("Network.enable")
                cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
                cdp.send("Network.emulateNetworkConditions", SLOW_4G)
                received: list[float] = []
                cdp.on("Network.loadingFinished", received_into(received))
                page.goto(url, wait_until="commit")
                page.wait_for_function(HEADLINE, timeout=120_000)
                times.append(page.evaluate("performance.now()"))
                page.wait_for_load_state("load")
                sizes.append(sum(received))
                context.close()
    finally:
        server.should_exit = True
    return int(statistics.median(sizes)), statistics.median(times)


def main() -> None:
    before, after = (Path(arg) for arg in sys.argv[1:3])
    rows = {"before": measure(before), "after": measure(after)}
    print("build   transferred  time to headline (Slow 4G)")
    for name, (size, ms) in rows.items():
        print(f"{name:7} {size / 1024:8.0f} KB  {ms / 1000:8.2f} s")
    (b_size, b_ms), (a_size, a_ms) = rows["before"], rows["after"]
    print(f"after / before: {a_size / b_size:.2f}x the bytes, {a_ms / b_ms:.2f}x the time")


if __name__ == "__main__":
    main()
