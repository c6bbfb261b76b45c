"""A llama-server started with a reranker model and `--reranking`, for the /v1/rerank tests.

No reranker GGUF ships in a package this project can install, so the local llama.cpp fleet
cannot rank; this double speaks the real server's rerank wire format instead, as
ggml-org/llama.cpp defines it:

- `tools/server/server-context.cpp`, `post_rerank` (routed at `/rerank`, `/reranking`,
  `/v1/rerank` and `/v1/reranking`): 501 `not_supported_error` "This server does not
  support reranking. Start it with `--reranking`" unless started so; `query` must be
  present and a string, else 400; `documents` (or TEI's `texts`) read as an array of
  strings, anything else read as empty, and empty is 400 "\\"documents\\" must be a
  non-empty string array"; `top_n` defaults to the number of documents; one task per
  document.
- `tools/server/server-common.cpp`, `format_prompt_rerank`: without a rerank template a pair
  is BOS query EOS document EOS (CLS query SEP document SEP for a BERT reranker), so a
  document's `tokens_evaluated` is the query's and the document's tokens plus three.
- `tools/server/server-common.cpp`, `format_response_rerank`: `{"model": the request's
  model or the server's, "object": "list", "usage": {"prompt_tokens", "total_tokens"} (the
  sum of `tokens_evaluated`), "results": [{"index", "relevance_score"}]}`, sorted by score,
  highest first, and cut to `top_n`; with TEI's `texts`, a bare array of `{"index",
  "score"}` (`text` too with `return_text`). The score is the model's raw output, negative
  as often as not. No `document` is returned in the Jina shape.

Scores here are word overlap between query and document (`relevance`), so a test knows the
order to expect. Faults reuse the chat fake's `mode`: `unavailable`, `reset`, `hang`,
`not_json`, and `drop_result` (a 200 that scores one document fewer than it was sent).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from tests.support.fake_upstream import LOADING, FakeLlamaServer, Seen, _json, tokenize

RERANK_PATHS = ("/rerank", "/reranking", "/v1/rerank", "/v1/reranking")
SPECIAL_TOKENS_PER_PAIR = 3
NOT_SUPPORTED = {
    "error": {
        "code": 501,
        "message": "This server does not support reranking. Start it with `--reranking`",
        "type": "not_supported_error",
    }
}

_WORD = re.compile(r"\w+")


def _words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


def relevance(query: str, document: str) -> float:
    """The double's score: query words found in the document, less a little for length."""
    words = _words(document)
    shared = len(set(_words(query)) & set(words))
    return shared - 1.0 / (1 + len(words))


def pair_tokens(query: str, document: str) -> int:
    """What the double reports as one (query, document) pair's `tokens_evaluated`."""
    return len(tokenize(query)) + len(tokenize(document)) + SPECIAL_TOKENS_PER_PAIR


def _invalid(message: str) -> web.Response:
    return _json({"error": {"code": 400, "message": message, "type": "invalid_request_error"}}, 400)


@dataclass(eq=False)
class FakeReranker(FakeLlamaServer):
    alias: str = "bge-reranker-v2-m3-q8_0.gguf"
    reranking: bool = True  # False: started without `--reranking`

    @property
    def rerank_requests(self) -> list[Seen]:
        return [r for r in list(self.requests) if r.path in RERANK_PATHS]

    def _add_routes(self, app: web.Application) -> None:
        for path in RERANK_PATHS:
            app.router.add_post(path, self._rerank)

    async def _rerank(self, request: web.Request) -> web.Response:
        seen = await self._record(request)
        try:
            return await self._ranking(request, seen)
        except BaseException:
            if not self._stopping and id(seen) not in self._aborting:
                seen.closed_early = True
            raise

    async def _ranking(self, request: web.Request, seen: Seen) -> web.Response:
        if not self.reranking:
            return _json(NOT_SUPPORTED, 501)
        mode = self.mode
        if mode == "unavailable":
            return _json(LOADING, 503)
        if mode == "reset":
            self._abort(request, seen)
            await self._wait_forever()
        if mode == "hang":
            await self._wait_forever()
        assert self._gate is not None
        await self._gate.wait()
        body = seen.body if isinstance(seen.body, dict) else {}
        tei = "texts" in body
        if "query" not in body:
            return _invalid('"query" must be provided')
        query = body["query"]
        if not isinstance(query, str):
            return _invalid('"query" must be a string')
        documents = body.get("documents", body.get("texts"))
        if not isinstance(documents, list) or not all(isinstance(d, str) for d in documents):
            documents = []  # json_value falls back to its default on a type mismatch
        if not documents:
            return _invalid('"documents" must be a non-empty string array')
        if mode == "not_json":
            seen.completed = True
            return web.Response(
                body=b"<html>502 Bad Gateway</html>",
                headers={"Server": "llama.cpp", "Content-Type": "application/json"},
            )
        top_n = body.get("top_n", len(documents))
        label = "score" if tei else "relevance_score"
        elements: list[dict[str, Any]] = []
        tokens = 0
        for index, document in enumerate(documents):
            elements.append({"index": index, label: relevance(query, document)})
            if tei and body.get("return_text"):
                elements[-1]["text"] = document
            tokens += pair_tokens(query, document)
        elements.sort(key=lambda e: e[label], reverse=True)
        del elements[max(0, min(int(top_n), len(elements))) :]
        if mode == "drop_result":
            elements.pop()
        seen.completed = True
        if tei:
            return _json(elements)
        return _json(
            {
                "model": body.get("model", self.alias),
                "object": "list",
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
                "results": elements,
            }
        )
