"""Concurrent load on gateway processes, as clients behind a load balancer send it, and the
checks that the books still balance afterwards."""

from __future__ import annotations

import asyncio
import os
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import httpx

from tests.support.gateway_process import GPTAPI

MESSAGES = [{"role": "user", "content": "Hi"}]


@dataclass(frozen=True)
class Outcome:
    status: int | None  # None: the connection failed (a process died under it)
    request_id: str = ""
    code: str = ""
    retry_after: str = ""
    url: str = ""


async def _one(
    client: httpx.AsyncClient, url: str, secret: str, body: dict[str, object], retries: int
) -> Outcome:
    outcome = Outcome(None)
    for _ in range(retries + 1):
        try:
            response = await client.post(
                url + "/v1/chat/completions",
                headers={"authorization": f"Bearer {secret}"},
                json=body,
            )
        except httpx.TransportError:
            return Outcome(None)
        outcome = _outcome(url, response)
        if response.status_code != 503:
            break
        # As a client does with a retryable 503 (a starved machine's health checks or
        # Redis calls timing out): tried again, and whatever was admitted, only once.
        await asyncio.sleep(float(outcome.retry_after or "1"))
    return outcome


def fire(
    urls: Sequence[str],
    secret: str,
    count: int,
    model: str,
    *,
    max_tokens: int,
    retries: int = 30,
) -> list[Outcome]:
    """`count` requests at once, spread over `urls` in turn."""
    body: dict[str, object] = {"model": model, "messages": MESSAGES, "max_tokens": max_tokens}

    async def main() -> list[Outcome]:
        limits = httpx.Limits(max_connections=count, max_keepalive_connections=0)
        async with httpx.AsyncClient(limits=limits, timeout=120) as client:
            calls = (_one(client, urls[i % len(urls)], secret, body, retries) for i in range(count))
            return list(await asyncio.gather(*calls))

    return asyncio.run(main())


def _outcome(url: str, response: httpx.Response) -> Outcome:
    error = response.json().get("error") if response.status_code != 200 else None
    return Outcome(
        response.status_code,
        response.headers.get("x-request-id", ""),
        (error or {}).get("code") or "",
        response.headers.get("retry-after", ""),
        url,
    )


class SteadyLoad:
    """`clients` clients, each sending one request after another to the gateways in turn
    until stopped; every answer (or failed connection) is in `outcomes`, in order. A 503 or a
    failed connection is recorded, and the client waits a little before its next request."""

    def __init__(
        self, urls: Sequence[str], secret: str, model: str, *, clients: int, max_tokens: int
    ) -> None:
        self._urls = urls
        self._secret = secret
        self._body = {"model": model, "messages": MESSAGES, "max_tokens": max_tokens}
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._client, args=(i,), daemon=True) for i in range(clients)
        ]
        self.outcomes: list[Outcome] = []

    def __enter__(self) -> SteadyLoad:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(120)

    def count(self, status: int | None, since: int = 0) -> int:
        return sum(1 for outcome in self.outcomes[since:] if outcome.status == status)

    def _client(self, index: int) -> None:
        headers = {"authorization": f"Bearer {self._secret}"}
        with httpx.Client(timeout=60) as client:
            turn = index
            while not self._stop.is_set():
                url = self._urls[turn % len(self._urls)]
                turn += 1
                try:
                    response = client.post(
                        url + "/v1/chat/completions", headers=headers, json=self._body
                    )
                except httpx.TransportError:
                    self.outcomes.append(Outcome(None, url=url))
                    time.sleep(0.1)
                    continue
                self.outcomes.append(_outcome(url, response))
                if response.status_code != 200:
                    time.sleep(0.1)


def statuses(outcomes: Sequence[Outcome]) -> Counter[int | None]:
    return Counter(outcome.status for outcome in outcomes)


def reconcile(env: dict[str, str]) -> None:
    """`gptapi admin reconcile`, as an operator runs it, agrees with the books."""
    result = subprocess.run(
        [GPTAPI, "admin", "reconcile"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
