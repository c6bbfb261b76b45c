"""POST /v1/rerank: documents ordered by their relevance to a query, in the shape Cohere and
Jina answer and llama.cpp's server (started with `--reranking`) serves at its own /v1/rerank.

The documents go upstream as the strings llama-server takes, every one of them; the gateway
itself orders the results, cuts them to `top_n` and adds the documents asked for, so the
answer is the same whatever build runs upstream (older ones neither sorted nor cut).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from gptapi.gateway.catalog import CatalogModel
from gptapi.gateway.openai.plan import Plan
from gptapi.gateway.openai.protocol import RerankRequest, parse

# What a server adds around each (query, document) pair: BOS/SEP/EOS, or a reranker's own
# prompt template (Qwen3-Reranker wraps every pair in an instruction of about 100 tokens).
PER_PAIR_OVERHEAD_TOKENS = 128
# Special tokens a BERT-style reranker puts around a pair (CLS query SEP document SEP), added
# to the tokenizer's count of the text when usage has to be counted.
SPECIAL_TOKENS_PER_PAIR = 3


class RerankSurface:
    endpoint = "rerank"
    path = "/v1/rerank"
    kind = "rerank"

    def plan(
        self, body: dict[str, Any], model: CatalogModel, *, body_size: int, output_cap: int
    ) -> Plan:
        request = parse(RerankRequest, body)
        texts = [d if isinstance(d, str) else d.text for d in request.documents]
        # The query is scored with every document: it counts once per pair. A token is at
        # least a byte of text, so bytes bound the tokens.
        query_bytes = len(request.query.encode())
        estimate = sum(len(t.encode()) + query_bytes + PER_PAIR_OVERHEAD_TOKENS for t in texts)
        pairs = "\n".join(f"{request.query}\n{text}" for text in texts)
        return Plan(
            endpoint=self.endpoint,
            path=self.path,
            model=model,
            requested_model=request.model,
            prompt_estimate=estimate,
            payload={"model": request.model, "query": request.query, "documents": texts},
            prompt_texts=[pairs],
            prompt_token_count=SPECIAL_TOKENS_PER_PAIR * len(texts),
            finish=_ranked(texts, request.top_n, request.return_documents),
            readable=_scores_every_document(len(texts)),
        )


def _scores_every_document(count: int) -> Callable[[dict[str, Any]], bool]:
    """Whether an upstream answer scores each document exactly once: anything else is a
    broken answer, not a ranking, and is neither billed nor passed on."""

    def readable(data: dict[str, Any]) -> bool:
        results = data.get("results")
        if not isinstance(results, list) or len(results) != count:
            return False
        indexes = set()
        for item in results:
            if not isinstance(item, dict):
                return False
            index, score = item.get("index"), item.get("relevance_score")
            if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < count:
                return False
            if isinstance(score, bool) or not isinstance(score, int | float):
                return False
            if not math.isfinite(score):
                return False
            indexes.add(index)
        return len(indexes) == count

    return readable


def _ranked(
    texts: list[str], top_n: int | None, with_documents: bool
) -> Callable[[dict[str, Any]], None]:
    def rank(data: dict[str, Any]) -> None:
        results = [
            {"index": item["index"], "relevance_score": item["relevance_score"]}
            for item in data["results"]
        ]
        # Most relevant first; equal scores keep the order the documents were sent in.
        results.sort(key=lambda r: (-r["relevance_score"], r["index"]))
        if top_n is not None:
            del results[top_n:]
        if with_documents:
            for result in results:
                result["document"] = {"text": texts[result["index"]]}
        data["results"] = results
        data["object"] = "list"

    return rank
