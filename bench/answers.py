"""Before anything is measured, each target answers its request once and the answer is
checked: a fast wrong answer must not count as a result."""

from __future__ import annotations

import urllib.request
from typing import Any

import orjson

from bench.measure import GATEWAY, RESPONSES
from bench.payloads import CHAT_COMPLETION, MODEL


class WrongAnswer(AssertionError):
    pass


def fetch(url: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(url, data=body, headers=headers)
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, orjson.loads(response.read())


def check(name: str, status: int, answer: dict[str, Any]) -> None:
    """The upstream's completion, as every target should relay it."""
    expected = CHAT_COMPLETION
    problems = []
    if status != 200:
        problems.append(f"status {status}")
    choices = answer.get("choices") or [{}]
    if choices[0].get("message", {}).get("content") != expected["choices"][0]["message"]["content"]:
        problems.append(f"content {choices[0]!r}")
    usage = answer.get("usage") or {}
    if {k: usage.get(k) for k in expected["usage"]} != expected["usage"]:
        problems.append(f"usage {usage!r}")
    if answer.get("model") != MODEL:
        problems.append(f"model {answer.get('model')!r}")
    if name == GATEWAY and "timings" in answer:
        problems.append("llama.cpp timings not stripped")
    if problems:
        raise WrongAnswer(f"{name} answered wrongly: {'; '.join(problems)}")


def check_response(name: str, status: int, answer: dict[str, Any]) -> None:
    """The upstream's completion translated into a Responses API response."""
    expected = CHAT_COMPLETION
    problems = []
    if status != 200:
        problems.append(f"status {status}")
    if answer.get("object") != "response" or answer.get("status") != "completed":
        problems.append(f"object {answer.get('object')!r}, status {answer.get('status')!r}")
    texts = [
        part.get("text")
        for item in answer.get("output", [])
        for part in item.get("content", [])
        if part.get("type") == "output_text"
    ]
    if texts != [expected["choices"][0]["message"]["content"]]:
        problems.append(f"output {answer.get('output')!r}")
    usage = answer.get("usage") or {}
    wanted = expected["usage"]
    if (usage.get("input_tokens"), usage.get("output_tokens")) != (
        wanted["prompt_tokens"],
        wanted["completion_tokens"],
    ):
        problems.append(f"usage {usage!r}")
    if problems:
        raise WrongAnswer(f"{name} answered wrongly: {'; '.join(problems)}")


def check_all(
    urls: dict[str, str], headers: dict[str, dict[str, str]], bodies: dict[str, bytes]
) -> dict[str, str]:
    """One checked answer per target ("ok"); raises WrongAnswer on the first wrong one."""
    for name, url in urls.items():
        status, answer = fetch(url, headers[name], bodies[name])
        (check_response if name == RESPONSES else check)(name, status, answer)
    return dict.fromkeys(urls, "ok")
