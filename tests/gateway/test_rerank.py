"""POST /v1/rerank against llama-server's rerank endpoint: ordering, `top_n`, documents as
strings or objects, every refused field, model kinds, the hold and the exact bill, and what
an upstream failure costs (nothing).

No reranker model ships in a package this project installs, so the upstream is the double
of a llama-server started with `--reranking` (`tests.support.fake_reranker`, which cites the
llama.cpp sources it follows); the gateway, the database and the books are the real ones,
on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import os
import random
import re
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from gptapi.gateway.openai.rerank import PER_PAIR_OVERHEAD_TOKENS
from gptapi.gateway.upstream.registry import ServerSpec
from tests.gateway.admission import assert_books_balance, assert_openai_error, dollars
from tests.gateway.test_faults import available, on_gateway
from tests.gateway.test_v1_fuzz import nested, wrong_values
from tests.support.databases import BACKENDS, fresh_database
from tests.support.fake_reranker import FakeReranker, pair_tokens, relevance
from tests.support.platform import Account, Platform, test_settings as settings_for
from tests.support.threads import wait_until

RERANK = "/v1/rerank"
MODEL = "rerank"
CHAT_MODEL = "fake-chat"
INPUT_PRICE = 20  # nano-dollars per token ($0.02 per 1M)
SOURCE = "rerank"
CREDIT = "1"

QUERY = "What is the capital of France?"
DOCUMENTS = [
    "Berlin is the capital of Germany.",
    "Paris is the capital of France.",
    "Bananas are rich in potassium.",
    "France is a country in Europe, and its capital is Paris.",
]


def expected_order(query: str, documents: list[str]) -> list[int]:
    return sorted(range(len(documents)), key=lambda i: (-relevance(query, documents[i]), i))


def billed_tokens(query: str, documents: list[str]) -> int:
    return sum(pair_tokens(query, d) for d in documents)


def hold(query: str, documents: list[str]) -> int:
    """The credit hold of a rerank request: bytes bound its tokens, the query once a pair."""
    query_bytes = len(query.encode())
    tokens = sum(len(d.encode()) + query_bytes + PER_PAIR_OVERHEAD_TOKENS for d in documents)
    return tokens * INPUT_PRICE


# ---------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module", params=BACKENDS)
def rerank_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _platform(backend: str, tmp: Path, *, with_reranker: bool) -> Iterator[Platform]:
    with fresh_database(backend, tmp) as url:
        platform = Platform(settings_for(url, tmp))
        if with_reranker:
            platform.add_model(MODEL, input_price=INPUT_PRICE, output_price=0, kind="rerank")
        platform.add_model(CHAT_MODEL, input_price=1000, output_price=2000)
        platform.start()
        try:
            yield platform
        finally:
            platform.stop()


@pytest.fixture(scope="module")
def gateway(rerank_backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    tmp = tmp_path_factory.mktemp(f"rerank-{rerank_backend}")
    yield from _platform(rerank_backend, tmp, with_reranker=True)


@pytest.fixture(scope="module")
def bare(rerank_backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """The platform as it comes: no model of kind rerank."""
    tmp = tmp_path_factory.mktemp(f"rerank-bare-{rerank_backend}")
    yield from _platform(rerank_backend, tmp, with_reranker=False)


@pytest.fixture
def rerankers() -> Iterator[Callable[..., list[FakeReranker]]]:
    started: list[FakeReranker] = []

    def make(count: int = 1, **settings: Any) -> list[FakeReranker]:
        new = [FakeReranker(**settings) for _ in range(count)]
        for fake in new:
            fake.start()
        started.extend(new)
        return new

    yield make
    for fake in started:
        fake.release()
        fake.stop()


@pytest.fixture
def served(gateway: Platform, rerankers: Callable[..., list[FakeReranker]]) -> FakeReranker:
    """One healthy reranker serving the model."""
    [fake] = rerankers(1)
    serve(gateway, fake)
    return fake


def serve(platform: Platform, *fakes: FakeReranker) -> None:
    """Make `fakes` (in this order) the model's pool and wait until the gateway uses them."""
    platform.set_servers(SOURCE, [ServerSpec(model=MODEL, base_url=f.url) for f in fakes])
    expected = [(f.url, True, f.slots) for f in fakes]

    def ready() -> bool:
        def read() -> list[tuple[str, bool, int]]:
            pool = platform.runtime.serving.registry.pool(MODEL)
            return [(s.base_url, s.healthy, s.slots) for s in (pool.servers if pool else [])]

        return on_gateway(platform, read) == expected

    wait_until(ready, timeout=15)


def rerank(platform: Platform, account: Account, body: Any) -> httpx.Response:
    headers = {"authorization": f"Bearer {account.secret}"}
    with httpx.Client(base_url=platform.url, headers=headers, timeout=60) as client:
        return client.post(RERANK, json=body)


def wait_records(platform: Platform, account: Account, count: int) -> list[Any]:
    wait_until(lambda: len(platform.usage(account)) >= count, timeout=15)
    records = platform.usage(account)
    assert len(records) == count
    return records


def assert_settled(platform: Platform, account: Account) -> None:
    """Balance == ledger sum == credit minus every recorded cost, and no hold left open."""
    assert_books_balance(platform, account, 1_000_000_000)
    balance = platform.balance(account)
    wait_until(lambda: available(platform, account) in (None, balance), timeout=10)


# ---------------------------------------------------------------------------- ranking


def test_documents_come_back_most_relevant_first(gateway: Platform, served: FakeReranker) -> None:
    account = gateway.account(CREDIT)
    reply = rerank(gateway, account, {"model": MODEL, "query": QUERY, "documents": DOCUMENTS})
    assert reply.status_code == 200, reply.text
    data = reply.json()
    assert set(data) == {"model", "object", "results", "usage"}
    assert data["model"] == MODEL and data["object"] == "list"
    order = expected_order(QUERY, DOCUMENTS)
    assert [r["index"] for r in data["results"]] == order
    assert order[0] == 1  # Paris, the capital of France
    for result in data["results"]:
        assert set(result) == {"index", "relevance_score"}
        assert result["relevance_score"] == relevance(QUERY, DOCUMENTS[result["index"]])
    scores = [r["relevance_score"] for r in data["results"]]
    assert scores == sorted(scores, reverse=True)
    # llama-server was sent what it reads, and nothing else.
    [seen] = served.rerank_requests
    assert seen.path == RERANK
    assert seen.body == {"model": MODEL, "query": QUERY, "documents": DOCUMENTS}


def test_top_n_keeps_the_most_relevant_and_bills_every_document(
    gateway: Platform, served: FakeReranker
) -> None:
    account = gateway.account(CREDIT)
    order = expected_order(QUERY, DOCUMENTS)
    for top_n, shown in ((1, 1), (2, 2), (len(DOCUMENTS), 4), (50, 4)):
        body = {"model": MODEL, "query": QUERY, "documents": DOCUMENTS, "top_n": top_n}
        data = rerank(gateway, account, body).json()
        assert [r["index"] for r in data["results"]] == order[:shown]
        assert data["usage"]["prompt_tokens"] == billed_tokens(QUERY, DOCUMENTS)
    # Every document is scored upstream, whatever top_n: the cut is the gateway's.
    assert all(len(seen.body["documents"]) == 4 for seen in served.rerank_requests)
    assert all("top_n" not in seen.body for seen in served.rerank_requests)


def test_return_documents_adds_each_document(gateway: Platform, served: FakeReranker) -> None:
    account = gateway.account(CREDIT)
    body = {"model": MODEL, "query": QUERY, "documents": DOCUMENTS, "return_documents": True}
    results = rerank(gateway, account, body).json()["results"]
    assert [r["document"] for r in results] == [{"text": DOCUMENTS[r["index"]]} for r in results]
    body["return_documents"] = False
    results = rerank(gateway, account, body).json()["results"]
    assert all("document" not in r for r in results)


def test_documents_as_objects_rank_as_their_text(gateway: Platform, served: FakeReranker) -> None:
    account = gateway.account(CREDIT)
    strings = rerank(gateway, account, {"model": MODEL, "query": QUERY, "documents": DOCUMENTS})
    mixed = [{"text": d} if i % 2 else d for i, d in enumerate(DOCUMENTS)]
    body = {"model": MODEL, "query": QUERY, "documents": mixed, "return_documents": True}
    objects = rerank(gateway, account, body)
    assert objects.status_code == 200, objects.text
    assert [(r["index"], r["relevance_score"]) for r in objects.json()["results"]] == [
        (r["index"], r["relevance_score"]) for r in strings.json()["results"]
    ]
    assert objects.json()["results"][0]["document"] == {"text": DOCUMENTS[1]}
    # Upstream takes strings only: the objects went as their text.
    assert served.rerank_requests[-1].body["documents"] == DOCUMENTS


# ---------------------------------------------------------------------------- refusals

TOO_MANY = ["a document"] * 1001

REFUSED = [
    pytest.param({"rank_fields": ["text"]}, "rank_fields", "unknown_parameter", id="rank_fields"),
    pytest.param({"max_chunks_per_doc": 2}, "max_chunks_per_doc", "unknown_parameter", id="chunks"),
    pytest.param({"input": "x"}, "input", "unknown_parameter", id="input"),
    pytest.param({"texts": ["x"]}, "texts", "unknown_parameter", id="tei texts"),
    pytest.param({"return_text": True}, "return_text", "unknown_parameter", id="tei return_text"),
    pytest.param({"normalize": False}, "normalize", "unknown_parameter", id="normalize"),
    pytest.param({"truncation": True}, "truncation", "unknown_parameter", id="jina truncation"),
    pytest.param({"query": None}, "query", "invalid_value", id="query null"),
    pytest.param({"query": 7}, "query", "invalid_value", id="query number"),
    pytest.param({"query": ""}, "query", "invalid_value", id="query empty"),
    pytest.param({"query": ["a"]}, "query", "invalid_value", id="query list"),
    pytest.param({"documents": []}, "documents", "invalid_value", id="empty documents"),
    pytest.param({"documents": "Paris"}, "documents", "invalid_value", id="documents string"),
    pytest.param({"documents": TOO_MANY}, "documents", "invalid_value", id="too many"),
    pytest.param({"documents": ["ok", 3]}, "documents[1]", "invalid_value", id="document number"),
    pytest.param({"documents": ["ok", ""]}, "documents[1]", "invalid_value", id="document empty"),
    pytest.param({"documents": [None]}, "documents[0]", "invalid_value", id="document null"),
    pytest.param({"documents": [{}]}, "documents[0].text", None, id="object without text"),
    pytest.param(
        {"documents": [{"text": 5}]}, "documents[0].text", "invalid_value", id="text number"
    ),
    pytest.param(
        {"documents": [{"text": "a", "title": "b"}]},
        "documents[0].title",
        "unknown_parameter",
        id="object extra key",
    ),
    pytest.param({"documents": [{"image": "data:…"}]}, "documents[0].text", None, id="image"),
    pytest.param({"top_n": 0}, "top_n", "invalid_value", id="top_n zero"),
    pytest.param({"top_n": -1}, "top_n", "invalid_value", id="top_n negative"),
    pytest.param({"top_n": "2"}, "top_n", "invalid_value", id="top_n string"),
    pytest.param({"top_n": 1.5}, "top_n", "invalid_value", id="top_n float"),
    pytest.param({"top_n": True}, "top_n", "invalid_value", id="top_n bool"),
    pytest.param({"return_documents": "yes"}, "return_documents", "invalid_value", id="return"),
    pytest.param({"model": 5}, "model", None, id="model number"),
]


@pytest.mark.parametrize(("change", "param", "code"), REFUSED)
def test_every_bad_field_is_a_400_naming_it(
    gateway: Platform, served: FakeReranker, change: dict[str, Any], param: str, code: str | None
) -> None:
    account = gateway.account(CREDIT)
    body = {"model": MODEL, "query": QUERY, "documents": DOCUMENTS, **change}
    assert_openai_error(rerank(gateway, account, body), 400, code, param=param)
    assert served.rerank_requests == []
    assert platform_charged(gateway, account) == 0


@pytest.mark.parametrize("missing", ["model", "query", "documents"])
def test_a_missing_field_is_a_400_naming_it(
    gateway: Platform, served: FakeReranker, missing: str
) -> None:
    account = gateway.account(CREDIT)
    body = {"model": MODEL, "query": QUERY, "documents": DOCUMENTS}
    del body[missing]
    assert_openai_error(rerank(gateway, account, body), 400, param=missing)
    assert served.rerank_requests == []


def platform_charged(platform: Platform, account: Account) -> int:
    return 1_000_000_000 - platform.balance(account)


@pytest.mark.parametrize("model", [CHAT_MODEL, "embed", "gpt-fast"])
def test_a_model_of_another_kind_is_a_400_naming_model(
    gateway: Platform, served: FakeReranker, model: str
) -> None:
    account = gateway.account(CREDIT)
    reply = rerank(gateway, account, {"model": model, "query": QUERY, "documents": DOCUMENTS})
    error = assert_openai_error(reply, 400, "model_not_supported", param="model")
    assert error["message"] == f"The model `{model}` does not support rerank."
    # And the reranker is no chat model.
    chat = {"model": MODEL, "messages": [{"role": "user", "content": "Hi"}]}
    with httpx.Client(base_url=gateway.url, timeout=30) as client:
        reply = client.post(
            "/v1/chat/completions", json=chat, headers={"authorization": f"Bearer {account.secret}"}
        )
    assert_openai_error(reply, 400, "model_not_supported", param="model")
    assert served.rerank_requests == [] and served.chat_requests == []


def test_an_unknown_model_is_a_404(gateway: Platform, served: FakeReranker) -> None:
    account = gateway.account(CREDIT)
    reply = rerank(gateway, account, {"model": "nope", "query": QUERY, "documents": DOCUMENTS})
    error = assert_openai_error(reply, 404, "model_not_found", param="model")
    assert error["message"] == "The model `nope` does not exist or you do not have access to it."


def test_without_a_rerank_model_the_answer_says_so(bare: Platform) -> None:
    account = bare.account(CREDIT)
    body = {"model": "gpt-fast", "query": QUERY, "documents": DOCUMENTS}
    error = assert_openai_error(rerank(bare, account, body), 400, "model_not_supported")
    assert error["param"] == "model"
    assert "No rerank model is configured on this platform." in error["message"]
    body["model"] = "rerank"
    error = assert_openai_error(rerank(bare, account, body), 404, "model_not_found")
    assert error["message"] == (
        "The model `rerank` does not exist or you do not have access to it. "
        "No rerank model is configured on this platform."
    )
    headers = {"authorization": f"Bearer {account.secret}"}
    listed = httpx.get(bare.url + "/v1/models", headers=headers).json()["data"]
    assert listed and not any(m["capabilities"]["rerank"] for m in listed)


# ---------------------------------------------------------------------------- models


def test_models_report_the_rerank_capability(gateway: Platform, served: FakeReranker) -> None:
    account = gateway.account(CREDIT)
    headers = {"authorization": f"Bearer {account.secret}"}
    listed = httpx.get(gateway.url + "/v1/models", headers=headers).json()["data"]
    by_id = {m["id"]: m for m in listed}
    ranker = by_id[MODEL]
    assert ranker["type"] == "rerank"
    assert ranker["capabilities"] == {
        "chat": False,
        "completions": False,
        "tools": False,
        "structured_outputs": False,
        "vision": False,
        "audio": False,
        "embeddings": False,
        "rerank": True,
        "image_generation": False,
        "speech": False,
        "transcription": False,
    }
    assert ranker["pricing"]["input"] == "0.02" and ranker["pricing"]["output"] == "0"
    assert by_id["embed"]["capabilities"]["rerank"] is False
    assert by_id["embed"]["capabilities"]["embeddings"] is True
    assert by_id[CHAT_MODEL]["capabilities"]["rerank"] is False
    one = httpx.get(f"{gateway.url}/v1/models/{MODEL}", headers=headers).json()
    assert one == ranker


# ---------------------------------------------------------------------------- money


def test_billing_is_exact(gateway: Platform, served: FakeReranker) -> None:
    account = gateway.account(CREDIT)
    reply = rerank(gateway, account, {"model": MODEL, "query": QUERY, "documents": DOCUMENTS})
    usage = reply.json()["usage"]
    tokens = billed_tokens(QUERY, DOCUMENTS)
    cost = tokens * INPUT_PRICE
    assert usage == {
        "prompt_tokens": tokens,
        "total_tokens": tokens,
        "cost": dollars(cost),
        "cost_nanos": cost,
    }
    [record] = wait_records(gateway, account, 1)
    assert record.request_id == reply.headers["x-request-id"]
    assert record.endpoint == "rerank"
    assert record.model_id == gateway.runtime.serving.catalog.get(MODEL).id
    assert (record.prompt_tokens, record.completion_tokens) == (tokens, 0)
    assert record.cost_nanos == cost
    assert record.status == 200 and record.outcome == "completed"
    assert record.metered_by == "upstream" and record.upstream == served.url
    assert record.hold_nanos == hold(QUERY, DOCUMENTS) and record.over_hold_nanos == 0
    [line] = [e for e in gateway.ledger_entries(account) if e.kind == "usage"]
    assert line.idempotency_key == f"usage:{record.request_id}"
    assert line.amount_nanos == -cost
    assert gateway.balance(account) == 1_000_000_000 - cost
    assert_settled(gateway, account)


def test_the_hold_is_taken_before_the_request_runs(gateway: Platform, served: FakeReranker) -> None:
    body = {"model": MODEL, "query": QUERY, "documents": DOCUMENTS}
    short = gateway.account(dollars(hold(QUERY, DOCUMENTS) - 1))
    reply = rerank(gateway, short, body)
    error = assert_openai_error(reply, 429, "insufficient_quota", type="insufficient_quota")
    assert error["message"].endswith("Add credit, or send less input.")
    assert reply.headers["x-should-retry"] == "false"
    assert served.rerank_requests == []
    enough = gateway.account(dollars(hold(QUERY, DOCUMENTS)))
    assert rerank(gateway, enough, body).status_code == 200
    [record] = wait_records(gateway, enough, 1)
    assert gateway.balance(enough) == hold(QUERY, DOCUMENTS) - record.cost_nanos


def test_a_503_is_retried_on_another_server(
    gateway: Platform, rerankers: Callable[..., list[FakeReranker]]
) -> None:
    loading, steady = rerankers(2)
    loading.mode = "unavailable"
    serve(gateway, loading, steady)  # both idle: the first request goes to the first
    account = gateway.account(CREDIT)
    reply = rerank(gateway, account, {"model": MODEL, "query": QUERY, "documents": DOCUMENTS})
    assert reply.status_code == 200, reply.text
    assert len(loading.rerank_requests) == 1 and len(steady.rerank_requests) == 1
    [record] = wait_records(gateway, account, 1)
    assert record.upstream == steady.url
    assert record.cost_nanos == billed_tokens(QUERY, DOCUMENTS) * INPUT_PRICE
    assert_settled(gateway, account)


@pytest.mark.parametrize(
    ("settings", "status", "code"),
    [
        pytest.param({"mode": "unavailable"}, 503, "service_unavailable", id="503"),
        pytest.param({"mode": "reset"}, 503, "service_unavailable", id="connection reset"),
        pytest.param({"reranking": False}, 502, "upstream_error", id="started without reranking"),
        pytest.param({"mode": "not_json"}, 502, "upstream_error", id="not json"),
        pytest.param({"mode": "drop_result"}, 502, "upstream_error", id="a document unscored"),
    ],
)
def test_an_upstream_failure_is_retryable_and_free(
    gateway: Platform,
    rerankers: Callable[..., list[FakeReranker]],
    settings: dict[str, Any],
    status: int,
    code: str,
) -> None:
    [broken] = rerankers(1, **settings)
    serve(gateway, broken)
    account = gateway.account(CREDIT)
    reply = rerank(gateway, account, {"model": MODEL, "query": QUERY, "documents": DOCUMENTS})
    assert_openai_error(reply, status, code, type="server_error", param=None)
    if status == 503:
        assert reply.headers["retry-after"]
    assert broken.rerank_requests
    [record] = wait_records(gateway, account, 1)
    assert record.status == status and record.cost_nanos == 0
    assert record.prompt_tokens == record.completion_tokens == 0
    assert gateway.balance(account) == 1_000_000_000
    assert_settled(gateway, account)


def test_a_client_gone_after_the_server_had_it_pays_for_the_pairs(
    gateway: Platform, rerankers: Callable[..., list[FakeReranker]]
) -> None:
    """As embeddings: the server read the pairs, so they are counted with its tokenizer."""
    [slow] = rerankers(1, mode="hang")
    serve(gateway, slow)
    account = gateway.account(CREDIT)
    payload = orjson.dumps({"model": MODEL, "query": QUERY, "documents": DOCUMENTS})
    port = int(gateway.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(
            f"POST {RERANK} HTTP/1.1\r\nHost: gateway\r\n".encode()
            + f"Authorization: Bearer {account.secret}\r\n".encode()
            + b"Content-Type: application/json\r\n"
            + f"Content-Length: {len(payload)}\r\n\r\n".encode()
            + payload
        )
        wait_until(lambda: bool(slow.rerank_requests), timeout=10)
    # Hung up while the server works: the gateway cancels the upstream request.
    wait_until(lambda: slow.rerank_requests[0].closed_early, timeout=10)
    [record] = wait_records(gateway, account, 1)
    assert record.status == 499 and record.outcome == "client_disconnect"
    assert record.metered_by == "counted"
    # The pairs as one text with the tokenizer's BOS, plus each pair's special tokens.
    assert record.prompt_tokens == billed_tokens(QUERY, DOCUMENTS) + 1
    assert record.cost_nanos == record.prompt_tokens * INPUT_PRICE
    assert_settled(gateway, account)


# ---------------------------------------------------------------------------- docs


def test_the_documented_sample_runs(gateway: Platform, served: FakeReranker) -> None:
    docs = (Path(__file__).parents[2] / "docs" / "rerank.md").read_text()
    [sample] = re.findall(r"```python\n(.*?)```", docs, re.S)
    account = gateway.account(CREDIT)
    code = sample.replace("http://127.0.0.1:8000", gateway.url)
    ran = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "GPTAPI_KEY": account.secret},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ran.returncode == 0, ran.stderr
    lines = ran.stdout.splitlines()
    assert lines[0].startswith("1 ") and lines[0].endswith("Paris is the capital of France.")
    assert len(lines) == 3  # top_n 2, then the usage line
    [record] = wait_records(gateway, account, 1)
    assert lines[2] == f"{record.prompt_tokens} tokens, ${dollars(record.cost_nanos)}"


# ---------------------------------------------------------------------------- fuzz


def fuzz_bodies(rng: random.Random) -> Iterator[tuple[str, bytes]]:
    """(what, raw body): wrong values on every field and inside documents, deep nesting,
    broken JSON; the /v1 fuzz's values."""
    base = {"model": MODEL, "query": QUERY, "documents": DOCUMENTS[:2]}
    valid = orjson.dumps(base)
    for cut in sorted(rng.sample(range(1, len(valid)), 4)):
        yield f"truncated at {cut}", valid[:cut]
    for field in [*base, "top_n", "return_documents"]:
        for value in wrong_values(rng):
            yield f"{field}={value!r:.40}", json.dumps({**base, field: value}).encode()
    for value in wrong_values(rng):
        for items in ([value], ["ok", value], [{"text": value}], [{"text": "ok", "x": value}]):
            yield f"documents={items!r:.40}", json.dumps({**base, "documents": items}).encode()
    for depth in (65, 300):
        for field in ("documents", "query", "x"):
            deep = f', "{field}": {nested(depth, rng)}}}'.encode()
            yield f"{field} nested {depth}", valid[:-1] + deep


def test_nothing_a_client_sends_is_a_5xx(gateway: Platform, served: FakeReranker) -> None:
    account = gateway.account(CREDIT)
    rng = random.Random(20261204)
    headers = {"authorization": f"Bearer {account.secret}", "content-type": "application/json"}
    statuses: dict[int, int] = {}
    with httpx.Client(base_url=gateway.url, headers=headers, timeout=60) as client:
        for what, raw in fuzz_bodies(rng):
            reply = client.post(RERANK, content=raw)
            assert reply.status_code < 500, (what, reply.text[:300])
            if reply.status_code != 200:
                assert reply.json()["error"]["type"] == "invalid_request_error", what
            statuses[reply.status_code] = statuses.get(reply.status_code, 0) + 1
    assert set(statuses) == {200, 400, 404}, statuses  # 404: a model name that is none
    records = wait_records(gateway, account, statuses[200])
    assert all(r.cost_nanos > 0 and r.status == 200 for r in records)
    assert_settled(gateway, account)
