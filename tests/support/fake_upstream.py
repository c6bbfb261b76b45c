"""A fast fake llama-server for fault injection.

It speaks llama-server's wire format (checked against a real llama.cpp server of the
version the platform embeds) and nothing more: `/health`, `/props`, `/tokenize`,
`/apply-template`, `/v1/chat/completions/input_tokens` and `/v1/chat/completions`, streaming
or not. What a chat request does is programmable per test through `mode`:

    ok                 answer normally (usage when the client asks for it, as llama-server)
    no_usage           answer normally but never send usage (an old or buggy upstream)
    unavailable        503 "Loading model" before the first byte
    reset              close the connection without answering
    hang               never answer (not even the response head)
    context_overflow   400 exceed_context_size_error
    error_mid_stream   stream `fault_after` tokens, then one `data: {"error": …}` event and
                       close the connection (no terminating chunk, no [DONE])
    drop_mid_stream    stream `fault_after` tokens, then drop the connection mid-body
    stall_mid_stream   stream `fault_after` tokens, then go quiet forever
    trickle            stream a token every `trickle_interval` until `release()`, then finish

`hold()` makes chat requests wait before their first byte (and keeps `trickle` going) until
`release()`. Every request is recorded (`requests`, `chat_requests`), with whether the client
went away before the response was complete (`closed_early`); `max_in_flight` is the most
chat requests it ever had open at once.

Tokens: a "token" is a word with its leading spaces, or one punctuation mark, so the
default reply has exactly one token per streamed chunk and `/tokenize` of delivered text
gives back the number of chunks, as with a real server.
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
import uuid
import zlib
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

import orjson
from aiohttp import web

from gptapi.inference.launcher import free_port
from tests.support.threads import wait_until

T = TypeVar("T")

REPLY = ("Hello", "!", " How", " can", " I", " help", " you", " today", "?")
LOADING = {"error": {"code": 503, "message": "Loading model", "type": "unavailable_error"}}
NOT_FOUND = {"error": {"code": 404, "message": "File Not Found", "type": "not_found_error"}}
CHAT_PATH = "/v1/chat/completions"
COUNT_PATHS = ("/tokenize", "/apply-template", "/v1/chat/completions/input_tokens")
MODES = {
    "ok",
    "no_usage",
    "unavailable",
    "reset",
    "hang",
    "context_overflow",
    "error_mid_stream",
    "drop_mid_stream",
    "stall_mid_stream",
    "trickle",
    "over_usage",  # reports OVER_REPORTED completion tokens, far above what it generated
    "not_json",  # a 200 whose body is not JSON
}

# What an "over_usage" server claims to have generated.
OVER_REPORTED = 1_000_000

_TOKEN = re.compile(r"\s*\w+|\s*[^\w\s]|\s+")


def tokenize(text: str, *, add_special: bool = False) -> list[int]:
    ids = [zlib.crc32(piece.encode()) % 49152 + 2 for piece in _TOKEN.findall(text)]
    return [1, *ids] if add_special else ids


def apply_template(body: dict[str, Any]) -> str:
    """ChatML, as SmolLM2's template renders it."""
    parts: list[str] = []
    if body.get("tools"):
        parts.append(
            "<|im_start|>system\n<tools>" + orjson.dumps(body["tools"]).decode() + "</tools>"
        )
        parts.append("<|im_end|>\n")
    for message in body.get("messages") or ():
        content = message.get("content")
        if isinstance(content, list):
            content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
        parts.append(f"<|im_start|>{message.get('role')}\n{content or ''}<|im_end|>\n")
    parts.append("<|im_start|>assistant\n")
    return "".join(parts)


def prompt_tokens(body: dict[str, Any]) -> int:
    """What this fake reports as the prompt size of a chat request body."""
    return len(tokenize(apply_template(body), add_special=True))


@dataclass
class Seen:
    """One request as the fake received it."""

    method: str
    path: str
    body: Any
    headers: dict[str, str]
    closed_early: bool = False  # the client went away before the response was complete
    completed: bool = False  # the whole response was written
    chunks_sent: int = 0  # content chunks written (streams)


@dataclass(eq=False)
class FakeLlamaServer:
    slots: int = 4
    n_ctx: int = 2048
    # `/props` `modalities`, as llama-server reports what its model takes besides text.
    modalities: dict[str, bool] = field(
        default_factory=lambda: {"vision": False, "video": False, "audio": False}
    )
    reply: tuple[str, ...] = REPLY
    alias: str = "smollm2-135m-instruct-q8_0.gguf"
    mode: str = "ok"
    health: str = "ok"  # "ok" | "loading"
    counting: str = "ok"  # "ok" | "broken" (500 from the counting endpoints)
    input_tokens_endpoint: bool = True  # False: an older build without it (404)
    fault_after: int = 3  # tokens streamed before a mid-stream fault
    trickle_interval: float = 0.02
    port: int = field(default_factory=free_port)
    requests: list[Seen] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0

    def __post_init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._gate: asyncio.Event | None = None
        self._forever: asyncio.Event | None = None
        self._held = False
        self._stopping = False
        self._aborting: set[int] = set()

    # ------------------------------------------------------------------ lifecycle

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self._loop is not None

    def start(self) -> FakeLlamaServer:
        """Listen on `port` (again, after `stop()`: the same URL comes back)."""
        assert self._loop is None, "already running"
        self._stopping = False
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name=f"fake-llama-{self.port}", daemon=True
        )
        self._thread.start()
        self._call(self._serve())
        return self

    def stop(self) -> None:
        """Stop listening and drop every connection: the URL now refuses connections."""
        if self._loop is None:
            return
        self._stopping = True
        try:
            self._call(self._shutdown())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            assert self._thread is not None
            self._thread.join(5)
            self._loop.close()
            self._loop = None
            self._thread = None

    def __enter__(self) -> FakeLlamaServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def hold(self) -> None:
        """Chat requests wait before their first byte (and `trickle` keeps going)."""
        self._held = True
        if self._loop is not None:
            self._call(self._set_gate(False))

    def release(self) -> None:
        self._held = False
        if self._loop is not None:
            self._call(self._set_gate(True))

    # ------------------------------------------------------------------ what it saw

    @property
    def chat_requests(self) -> list[Seen]:
        return [r for r in list(self.requests) if r.path == CHAT_PATH]

    @property
    def count_requests(self) -> list[Seen]:
        return [r for r in list(self.requests) if r.path in COUNT_PATHS]

    def probes(self) -> int:
        return sum(1 for r in list(self.requests) if r.path == "/health")

    def wait_for_chats(self, count: int, timeout: float = 10) -> list[Seen]:
        wait_until(lambda: len(self.chat_requests) >= count, timeout=timeout)
        return self.chat_requests

    # ------------------------------------------------------------------ the server

    def _call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(15)

    async def _set_gate(self, open_: bool) -> None:
        assert self._gate is not None
        if open_:
            self._gate.set()
        else:
            self._gate.clear()

    async def _serve(self) -> None:
        self._gate = asyncio.Event()
        if not self._held:
            self._gate.set()
        self._forever = asyncio.Event()
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_get("/health", self._health)
        app.router.add_get("/props", self._props)
        app.router.add_post("/tokenize", self._tokenize)
        app.router.add_post("/apply-template", self._apply_template)
        app.router.add_post("/v1/chat/completions/input_tokens", self._input_tokens)
        app.router.add_post(CHAT_PATH, self._chat)
        # Audio pools' faults: the modes that answer before any output (unavailable, reset,
        # hang) answer a speech or transcription request the same way.
        app.router.add_post("/v1/audio/speech", self._audio)
        app.router.add_post("/v1/audio/transcriptions", self._audio)
        self._add_routes(app)
        # handler_cancellation: the handler is cancelled when the client goes away, as
        # llama-server stops generating when its client disconnects.
        self._runner = web.AppRunner(
            app, handler_cancellation=True, access_log=None, shutdown_timeout=0.5
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True)
        await site.start()

    def _add_routes(self, app: web.Application) -> None:
        """Endpoints a server started for another use adds (see `fake_reranker`)."""

    async def _shutdown(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _record(self, request: web.Request) -> Seen:
        raw = await request.read()
        try:
            body: Any = orjson.loads(raw) if raw else None
        except orjson.JSONDecodeError:
            body = raw
        headers = {name.lower(): value for name, value in request.headers.items()}
        seen = Seen(request.method, request.path, body, headers)
        self.requests.append(seen)
        return seen

    # -- llama-server endpoints

    async def _health(self, request: web.Request) -> web.Response:
        await self._record(request)
        if self.health != "ok":
            return _json(LOADING, 503)
        return _json({"status": "ok"})

    async def _props(self, request: web.Request) -> web.Response:
        await self._record(request)
        if self.health != "ok":
            return _json(LOADING, 503)
        return _json(
            {
                "default_generation_settings": {
                    "n_ctx": self.n_ctx,
                    "params": {"n_predict": -1, "temperature": 0.8, "top_p": 0.95},
                },
                "total_slots": self.slots,
                "modalities": self.modalities,
                "model_alias": self.alias,
                "model_path": f"/models/{self.alias}",
                "chat_template": "{% for message in messages %}…{% endfor %}",
                "build_info": "b0-fake",
                "is_sleeping": False,
            }
        )

    def _count_failure(self) -> web.Response | None:
        if self.counting == "ok":
            return None
        return _json({"error": {"code": 500, "message": "boom", "type": "server_error"}}, 500)

    async def _tokenize(self, request: web.Request) -> web.Response:
        seen = await self._record(request)
        if (failure := self._count_failure()) is not None:
            return failure
        body = seen.body if isinstance(seen.body, dict) else {}
        content = body.get("content", "")
        return _json({"tokens": tokenize(content, add_special=bool(body.get("add_special")))})

    async def _apply_template(self, request: web.Request) -> web.Response:
        seen = await self._record(request)
        if (failure := self._count_failure()) is not None:
            return failure
        return _json({"prompt": apply_template(seen.body)})

    async def _input_tokens(self, request: web.Request) -> web.Response:
        seen = await self._record(request)
        if not self.input_tokens_endpoint:
            return _json(NOT_FOUND, 404)
        if (failure := self._count_failure()) is not None:
            return failure
        return _json({"input_tokens": prompt_tokens(seen.body), "object": "response.input_tokens"})

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        seen = await self._record(request)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        left = False

        def leave() -> None:
            # Before the last bytes go out: the client may start its next request as soon
            # as it has them, and that must not count as a second one in flight.
            nonlocal left
            if not left:
                left = True
                self.in_flight -= 1

        try:
            return await self._answer(request, seen, leave)
        except (asyncio.CancelledError, ConnectionResetError):
            if not self._stopping and id(seen) not in self._aborting:
                seen.closed_early = True
            raise
        finally:
            leave()

    async def _audio(self, request: web.Request) -> web.StreamResponse:
        seen = await self._record(request)
        if self.mode == "reset":
            self._abort(request, seen)
            await self._wait_forever()
        if self.mode == "hang":
            await self._wait_forever()
        if self.mode == "not_json":  # a 200 whose body no client can use
            return web.Response(body=b"<html>proxy error</html>", content_type="text/html")
        if self.mode != "unavailable":
            raise AssertionError(f"audio requests take fault modes only, not {self.mode}")
        return _json(LOADING, 503)

    async def _answer(
        self, request: web.Request, seen: Seen, leave: Callable[[], None]
    ) -> web.StreamResponse:
        body = seen.body
        if not isinstance(body, dict):
            return _json(
                {
                    "error": {
                        "code": 400,
                        "message": "[json.exception.parse_error.101] parse error",
                        "type": "invalid_request_error",
                    }
                },
                400,
            )
        mode = self.mode
        assert mode in MODES, mode
        if mode == "unavailable":
            return _json(LOADING, 503)
        if mode == "context_overflow":
            n_prompt = prompt_tokens(body) + 9000
            return _json(
                {
                    "error": {
                        "code": 400,
                        "message": f"request ({n_prompt} tokens) exceeds the available context "
                        f"size ({self.n_ctx} tokens), try increasing it",
                        "type": "exceed_context_size_error",
                        "n_prompt_tokens": n_prompt,
                        "n_ctx": self.n_ctx,
                    }
                },
                400,
            )
        if mode == "reset":
            self._abort(request, seen)
            await self._wait_forever()
        if mode == "hang":
            await self._wait_forever()
        assert self._gate is not None
        if mode != "trickle":
            await self._gate.wait()
        if mode == "not_json":
            leave()
            seen.completed = True
            return web.Response(
                body=b"<html>502 Bad Gateway</html>",
                headers={"Server": "llama.cpp", "Content-Type": "application/json"},
            )
        prompt = prompt_tokens(body)
        max_tokens = body.get("max_tokens")
        limit = len(self.reply) if max_tokens is None else min(int(max_tokens), len(self.reply))
        pieces = list(self.reply[:limit])
        finish = "length" if limit < len(self.reply) else "stop"
        if not body.get("stream"):
            content = "".join(pieces)
            data: dict[str, Any] = {
                "choices": [
                    {
                        "finish_reason": finish,
                        "index": 0,
                        "message": {"role": "assistant", "content": content},
                    }
                ],
                "created": int(time.time()),
                "model": self.alias,
                "system_fingerprint": "b0-fake",
                "object": "chat.completion",
                "id": "chatcmpl-" + uuid.uuid4().hex,
                "timings": _timings(prompt, len(pieces)),
            }
            if mode == "over_usage":
                data["usage"] = _usage(prompt, OVER_REPORTED)
            elif mode != "no_usage":
                data["usage"] = _usage(prompt, len(pieces))
            leave()
            response = _json(data)
            seen.completed = True
            return response
        return await self._stream(request, seen, body, pieces, finish, prompt, leave)

    async def _stream(
        self,
        request: web.Request,
        seen: Seen,
        body: dict[str, Any],
        pieces: list[str],
        finish: str,
        prompt: int,
        leave: Callable[[], None],
    ) -> web.StreamResponse:
        mode = self.mode
        response = web.StreamResponse(
            status=200,
            headers={
                "Server": "llama.cpp",
                "X-Accel-Buffering": "no",
                "Content-Type": "text/event-stream",
            },
        )
        response.enable_chunked_encoding()
        await response.prepare(request)
        chunk_id = "chatcmpl-" + uuid.uuid4().hex
        created = int(time.time())

        def chunk(choices: list[dict[str, Any]], **extra: Any) -> bytes:
            obj = {
                "choices": choices,
                "created": created,
                "id": chunk_id,
                "model": self.alias,
                "system_fingerprint": "b0-fake",
                "object": "chat.completion.chunk",
                **extra,
            }
            return b"data: " + orjson.dumps(obj) + b"\n\n"

        def delta(content: str) -> bytes:
            return chunk([{"finish_reason": None, "index": 0, "delta": {"content": content}}])

        await response.write(
            chunk(
                [
                    {
                        "finish_reason": None,
                        "index": 0,
                        "delta": {"role": "assistant", "content": None},
                    }
                ]
            )
        )
        sent = 0
        if mode == "trickle":
            assert self._gate is not None
            while not self._gate.is_set():
                await response.write(delta(self.reply[sent % len(self.reply)]))
                sent += 1
                seen.chunks_sent = sent
                await asyncio.sleep(self.trickle_interval)
        else:
            for piece in pieces[: self.fault_after] if mode.endswith("_mid_stream") else pieces:
                await response.write(delta(piece))
                sent += 1
                seen.chunks_sent = sent
        if mode == "error_mid_stream":
            error = {
                "code": 500,
                "message": "llama_decode failed: out of memory",
                "type": "server_error",
            }
            leave()
            await response.write(b"data: " + orjson.dumps({"error": error}) + b"\n\n")
            # llama-server's content provider returns false after the error event: the
            # connection is closed without the terminating chunk.
            self._abort(request, seen, graceful=True)
            await self._wait_forever()
        if mode == "drop_mid_stream":
            leave()
            self._abort(request, seen)
            await self._wait_forever()
        if mode == "stall_mid_stream":
            await self._wait_forever()
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        timings = {"timings": _timings(prompt, sent)}
        if include_usage and mode != "no_usage":
            await response.write(chunk([{"finish_reason": finish, "index": 0, "delta": {}}]))
            leave()
            await response.write(chunk([], usage=_usage(prompt, sent), **timings))
        else:
            leave()
            await response.write(
                chunk([{"finish_reason": finish, "index": 0, "delta": {}}], **timings)
            )
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        seen.completed = True
        return response

    def _abort(self, request: web.Request, seen: Seen, *, graceful: bool = False) -> None:
        """Close the connection under the response (graceful: after flushing what was
        written; otherwise at once, dropping it)."""
        self._aborting.add(id(seen))
        assert request.transport is not None
        if graceful:
            request.transport.close()
        else:
            request.transport.abort()

    async def _wait_forever(self) -> None:
        assert self._forever is not None
        await self._forever.wait()  # never set: only cancellation ends it


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(
        body=orjson.dumps(data),
        status=status,
        headers={"Server": "llama.cpp", "Content-Type": "application/json; charset=utf-8"},
    )


def _usage(prompt: int, completion: int) -> dict[str, Any]:
    return {
        "completion_tokens": completion,
        "prompt_tokens": prompt,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": 0},
    }


def _timings(prompt: int, predicted: int) -> dict[str, Any]:
    return {
        "cache_n": 0,
        "prompt_n": prompt,
        "prompt_ms": 1.5,
        "prompt_per_token_ms": 0.1,
        "prompt_per_second": 10000.0,
        "predicted_n": predicted,
        "predicted_ms": 2.5,
        "predicted_per_token_ms": 0.3,
        "predicted_per_second": 3000.0,
    }
