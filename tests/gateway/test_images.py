"""POST /v1/images/generations: OpenAI's request and response over stable-diffusion.cpp
image servers (`tests.support.sd_server_double`), billed per image: `n` images held, the
images returned charged, at the price of the size asked. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import struct
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from gptapi.billing.reconcile import reconcile
from gptapi.gateway.upstream.registry import ServerSpec
from tests.gateway.admission import assert_books_balance, available_credit, dollars
from tests.support.console import Member, sign_in
from tests.support.databases import BACKENDS, fresh_database
from tests.support.platform import Account, Platform, test_settings as settings_for
from tests.support.sd_server_double import SdServerDouble
from tests.support.threads import wait_until

IMAGE = "sd-image"  # one price per image, any size
SIZED = "sd-sized"  # priced by size: only those sizes
CHAT = "plain-chat"
PER_IMAGE = 20_000_000  # $0.02
BY_SIZE = {"512x512": 10_000_000, "1024x1024": 40_000_000}
CREDIT = 1_000_000_000  # $1 (the account's "1")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module", params=BACKENDS)
def images_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def sd() -> Iterator[SdServerDouble]:
    double = SdServerDouble().start()
    try:
        yield double
    finally:
        double.stop()


@pytest.fixture(autouse=True)
def fresh_double(sd: SdServerDouble) -> None:
    sd.mode, sd.short_by = "ok", 1
    sd.requests.clear()


@pytest.fixture(scope="module")
def gateway(
    images_backend: str, sd: SdServerDouble, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    tmp: Path = tmp_path_factory.mktemp(f"images-{images_backend}")
    with fresh_database(images_backend, tmp) as url:
        platform = Platform(settings_for(url, tmp))
        platform.add_model(CHAT, input_price=1000, output_price=2000)
        platform.add_model(
            IMAGE, kind="image", input_price=0, output_price=0, nanos_per_image=PER_IMAGE
        )
        platform.add_model(
            SIZED, kind="image", input_price=0, output_price=0, nanos_per_image_by_size=BY_SIZE
        )
        # One sd-server may serve several pools, as one llama-server does.
        platform.set_servers(
            "images", [ServerSpec(model=m, base_url=sd.url) for m in (IMAGE, SIZED)]
        )
        with platform.serving():
            yield platform


def sdk(platform: Platform, account: Account) -> openai.OpenAI:
    return openai.OpenAI(base_url=platform.url + "/v1", api_key=account.secret, max_retries=0)


def generate(platform: Platform, account: Account, **body: Any) -> httpx.Response:
    return httpx.post(
        f"{platform.url}/v1/images/generations",
        headers={"Authorization": f"Bearer {account.secret}"},
        json={"model": IMAGE, "prompt": "a lighthouse at dusk", **body},
        timeout=30,
    )


def png_size(b64: str) -> tuple[int, int]:
    raw = base64.b64decode(b64)
    assert raw.startswith(PNG_SIGNATURE)
    assert raw[12:16] == b"IHDR"
    width, height = struct.unpack(">II", raw[16:24])
    return width, height


def settled(platform: Platform, account: Account) -> None:
    """Every hold released: what the organisation can spend is its balance again."""
    wait_until(lambda: available_credit(platform, account) == platform.balance(account))


# ---------------------------------------------------------------- generation and billing


def test_the_openai_sdk_generates_n_images_of_the_size_asked(
    gateway: Platform, sd: SdServerDouble
) -> None:
    account = gateway.account("1")
    result = sdk(gateway, account).images.generate(
        model=IMAGE, prompt="a lighthouse at dusk", n=3, size="256x256"
    )
    assert result.data is not None and len(result.data) == 3
    for image in result.data:
        assert image.b64_json is not None
        assert png_size(image.b64_json) == (256, 256)
    assert result.created > 0
    assert result.output_format == "png"
    assert result.size == "256x256"
    # What the image server was asked: its own fields, nothing else.
    assert sd.requests == [{"prompt": "a lighthouse at dusk", "n": 3, "size": "256x256"}]

    usage: Any = result.usage
    assert usage.images == 3
    assert usage.cost_nanos == 3 * PER_IMAGE
    assert usage.cost == dollars(3 * PER_IMAGE)
    assert usage.total_tokens == 0
    [record] = gateway.usage(account)
    assert (record.endpoint, record.images, record.cost_nanos) == ("images", 3, 3 * PER_IMAGE)
    assert record.hold_nanos == 3 * PER_IMAGE
    assert (record.prompt_tokens, record.completion_tokens, record.outcome) == (0, 0, "completed")
    [entry] = [e for e in gateway.ledger_entries(account) if e.kind == "usage"]
    assert entry.amount_nanos == -3 * PER_IMAGE
    assert entry.description == f"{IMAGE} images, 3 images"
    assert assert_books_balance(gateway, account, CREDIT) == 3 * PER_IMAGE
    settled(gateway, account)


def test_one_image_by_default_at_the_servers_default_size(
    gateway: Platform, sd: SdServerDouble
) -> None:
    account = gateway.account("1")
    answer = generate(gateway, account, response_format="b64_json", quality="auto")
    assert answer.status_code == 200, answer.text
    [image] = answer.json()["data"]
    assert png_size(image["b64_json"]) == (512, 512)
    assert "size" not in answer.json()
    assert sd.requests == [{"prompt": "a lighthouse at dusk", "n": 1}]
    assert answer.json()["usage"]["cost_nanos"] == PER_IMAGE


def test_output_format_and_compression_reach_the_server(
    gateway: Platform, sd: SdServerDouble
) -> None:
    account = gateway.account("1")
    answer = generate(gateway, account, output_format="webp", output_compression=80)
    assert answer.status_code == 200, answer.text
    assert answer.json()["output_format"] == "webp"
    assert sd.requests[0]["output_format"] == "webp"
    assert sd.requests[0]["output_compression"] == 80


def test_a_model_priced_by_size_charges_the_size_asked_and_offers_only_those(
    gateway: Platform, sd: SdServerDouble
) -> None:
    account = gateway.account("1")
    large = generate(gateway, account, model=SIZED, size="1024x1024", n=2)
    assert large.status_code == 200, large.text
    assert large.json()["usage"]["cost_nanos"] == 2 * BY_SIZE["1024x1024"]
    assert [png_size(i["b64_json"]) for i in large.json()["data"]] == [(1024, 1024)] * 2

    # `auto` (or no size) is the first size the model is priced at, asked for explicitly.
    auto = generate(gateway, account, model=SIZED, size="auto")
    assert auto.status_code == 200, auto.text
    assert auto.json()["usage"]["cost_nanos"] == BY_SIZE["512x512"]
    assert auto.json()["size"] == "512x512"
    assert sd.requests[-1]["size"] == "512x512"

    unpriced = generate(gateway, account, model=SIZED, size="256x256")
    assert unpriced.status_code == 400
    assert unpriced.json()["error"]["param"] == "size"
    assert len(sd.requests) == 2
    costs = [r.cost_nanos for r in gateway.usage(account)]
    assert costs == [2 * BY_SIZE["1024x1024"], BY_SIZE["512x512"]]
    assert_books_balance(gateway, account, CREDIT)


def test_fewer_images_than_asked_are_billed_as_returned(
    gateway: Platform, sd: SdServerDouble
) -> None:
    sd.mode, sd.short_by = "fewer", 2
    account = gateway.account("1")
    answer = generate(gateway, account, n=4)
    assert answer.status_code == 200, answer.text
    assert len(answer.json()["data"]) == 2
    assert answer.json()["usage"]["images"] == 2
    assert answer.json()["usage"]["cost_nanos"] == 2 * PER_IMAGE
    [record] = gateway.usage(account)
    assert (record.images, record.cost_nanos, record.hold_nanos) == (
        2,
        2 * PER_IMAGE,
        4 * PER_IMAGE,
    )
    assert assert_books_balance(gateway, account, CREDIT) == 2 * PER_IMAGE
    settled(gateway, account)


@pytest.mark.parametrize("mode", ["fail", "none"])
def test_an_upstream_failure_is_retryable_and_costs_nothing(
    gateway: Platform, sd: SdServerDouble, mode: str
) -> None:
    sd.mode = mode
    account = gateway.account("1")
    with pytest.raises(openai.InternalServerError) as raised:
        sdk(gateway, account).images.generate(model=IMAGE, prompt="a lighthouse", n=2)
    assert raised.value.status_code == 502
    assert raised.value.response.json()["error"]["type"] == "server_error"
    [record] = gateway.usage(account)
    assert (record.status, record.cost_nanos, record.images) == (502, 0, 0)
    assert record.hold_nanos == 2 * PER_IMAGE
    assert assert_books_balance(gateway, account, CREDIT) == 0
    settled(gateway, account)


def test_a_request_the_server_refuses_is_a_free_400_with_its_reason(
    gateway: Platform, sd: SdServerDouble
) -> None:
    sd.mode = "invalid"
    account = gateway.account("1")
    answer = generate(gateway, account, size="2048x2048")
    assert answer.status_code == 400
    assert answer.json()["error"]["message"] == "invalid params"
    [record] = gateway.usage(account)
    assert (record.status, record.cost_nanos, record.outcome) == (400, 0, "upstream_rejected")
    assert_books_balance(gateway, account, CREDIT)
    settled(gateway, account)


def test_not_enough_credit_for_every_image_asked_is_refused(
    gateway: Platform, sd: SdServerDouble
) -> None:
    account = gateway.account("0.05")  # two images and a half
    answer = generate(gateway, account, n=3)
    assert answer.status_code == 429
    assert answer.json()["error"]["code"] == "insufficient_quota"
    assert "3 images" in answer.json()["error"]["message"]
    assert sd.requests == []
    assert generate(gateway, account, n=2).status_code == 200


# ---------------------------------------------------------------- refused fields


BAD_FIELDS = [
    ({"prompt": ""}, "prompt"),
    ({"prompt": 7}, "prompt"),
    ({"prompt": "x" * 32_001}, "prompt"),
    ({"n": 0}, "n"),
    ({"n": 11}, "n"),
    ({"n": "2"}, "n"),
    ({"size": "big"}, "size"),
    ({"size": "1000x1000"}, "size"),  # not in steps of 64
    ({"size": "4096x4096"}, "size"),
    ({"size": 512}, "size"),
    ({"quality": "hd"}, "quality"),
    ({"quality": "ultra"}, "quality"),
    ({"response_format": "url"}, "response_format"),
    ({"response_format": "png"}, "response_format"),
    ({"output_format": "gif"}, "output_format"),
    ({"output_format": "bmp"}, "output_format"),
    ({"output_compression": 101}, "output_compression"),
    ({"background": "transparent"}, "background"),
    ({"moderation": "auto"}, "moderation"),
    ({"style": "vivid"}, "style"),
    ({"stream": True}, "stream"),
    ({"partial_images": 2}, "partial_images"),
    ({"user": 5}, "user"),
    ({"steps": 30}, "steps"),  # sd-server's own knobs are not OpenAI's
    ({"seed": 1}, "seed"),
]


@pytest.mark.parametrize(("fields", "param"), BAD_FIELDS, ids=[p for _, p in BAD_FIELDS])
def test_every_bad_field_is_a_400_naming_it(
    gateway: Platform, sd: SdServerDouble, fields: dict[str, Any], param: str
) -> None:
    account = gateway.account("1")
    answer = generate(gateway, account, **fields)
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error["param"] == param
    assert error["type"] == "invalid_request_error"
    assert sd.requests == []
    assert gateway.usage(account) == []


def test_a_missing_prompt_is_a_400_naming_it(gateway: Platform) -> None:
    account = gateway.account("1")
    answer = httpx.post(
        f"{gateway.url}/v1/images/generations",
        headers={"Authorization": f"Bearer {account.secret}"},
        json={"model": IMAGE},
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["param"] == "prompt"


def test_accepted_values_that_change_nothing(gateway: Platform, sd: SdServerDouble) -> None:
    account = gateway.account("1")
    answer = generate(
        gateway,
        account,
        background="opaque",
        moderation="low",
        quality="standard",
        stream=False,
        partial_images=0,
        user="user-1234",
        safety_identifier="abc",
    )
    assert answer.status_code == 200, answer.text
    assert sd.requests == [{"prompt": "a lighthouse at dusk", "n": 1}]


def test_models_of_the_wrong_kind_are_refused(gateway: Platform, sd: SdServerDouble) -> None:
    account = gateway.account("1")
    chat_model = generate(gateway, account, model=CHAT)
    assert chat_model.status_code == 400
    assert chat_model.json()["error"]["param"] == "model"
    assert chat_model.json()["error"]["code"] == "model_not_supported"

    chat = httpx.post(
        f"{gateway.url}/v1/chat/completions",
        headers={"Authorization": f"Bearer {account.secret}"},
        json={"model": IMAGE, "messages": [{"role": "user", "content": "hi"}]},
    )
    assert chat.status_code == 400
    assert chat.json()["error"]["param"] == "model"
    assert sd.requests == []

    unknown = generate(gateway, account, model="no-such-model")
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "model_not_found"


def test_models_lists_the_image_capability_and_per_image_prices(gateway: Platform) -> None:
    account = gateway.account("1")
    listed = {m.id: m for m in sdk(gateway, account).models.list().data}
    image: Any = listed[IMAGE]
    assert image.type == "image"
    assert image.capabilities["image_generation"] is True
    assert image.capabilities["chat"] is False
    assert image.pricing == {
        "currency": "USD",
        "unit": "image",
        "per_image": "0.02",
        "per_image_by_size": {},
    }
    sized: Any = listed[SIZED]
    assert sized.pricing["per_image_by_size"] == {"512x512": "0.01", "1024x1024": "0.04"}
    chat: Any = listed[CHAT]
    assert chat.capabilities["image_generation"] is False

    # The console's price list and Models page say the same.
    console = {m["id"]: m for m in httpx.get(f"{gateway.url}/api/models").json()["data"]}
    assert console[IMAGE]["capabilities"] == ["image_generation"]
    assert console[IMAGE]["endpoint"] == "/v1/images/generations"
    assert console[IMAGE]["pricing"]["unit"] == "image"
    assert console[IMAGE]["pricing"]["per_image"] == "0.02"
    assert console[SIZED]["pricing"]["per_image_by_size"] == {
        "512x512": "0.01",
        "1024x1024": "0.04",
    }


# ---------------------------------------------------------------- operator prices


@pytest.fixture
def operator(gateway: Platform) -> Iterator[Member]:
    admin = sign_in(gateway, admin=True)
    try:
        yield admin
    finally:
        admin.client.close()


def test_operators_create_image_models_and_change_their_price(
    gateway: Platform, sd: SdServerDouble, operator: Member
) -> None:
    created = operator.client.post(
        "/api/admin/models",
        json={
            "name": "Painter",
            "internal_name": "painter",
            "kind": "image",
            "input": "0",
            "output": "0",
            "per_image": "0.03",
        },
    )
    assert created.status_code == 201, created.text
    model = created.json()
    assert model["kind"] == "image"
    assert (model["price"]["usd_per_image"], model["price"]["nanos_per_image"]) == (
        "0.030000000",
        30_000_000,
    )
    changed = operator.client.post(
        f"/api/admin/models/{model['id']}/prices",
        json={"input": "0", "output": "0", "per_image_by_size": {"768x768": "0.000000007"}},
    )
    assert changed.status_code == 201, changed.text
    price = changed.json()["price"]
    assert price["usd_per_image_by_size"] == {"768x768": "0.000000007"}
    assert len(changed.json()["history"]) == 2  # the first price stays on record

    gateway.set_servers("painter", [ServerSpec(model="painter", base_url=sd.url)])
    catalog = gateway.runtime.serving.catalog
    registry = gateway.runtime.serving.registry

    def ready() -> bool:
        pool = registry.pool("painter")
        painter = catalog.get("painter")
        return bool(pool and pool.serving and painter and painter.image_sizes)

    wait_until(ready, timeout=15)
    account = gateway.account("1")
    answer = generate(gateway, account, model="painter", n=2)
    assert answer.status_code == 200, answer.text
    assert answer.json()["usage"]["cost_nanos"] == 14  # exact to the nano-dollar
    assert answer.json()["usage"]["cost"] == "0.000000014"
    assert assert_books_balance(gateway, account, CREDIT) == 14

    bad = operator.client.post(
        f"/api/admin/models/{model['id']}/prices",
        json={"input": "0", "output": "0", "per_image_by_size": {"huge": "1"}},
    )
    assert bad.status_code in (400, 422)


def test_the_documented_sample_runs(
    gateway: Platform, sd: SdServerDouble, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = (Path(__file__).parents[2] / "docs" / "images.md").read_text()
    sample = docs.split("```python\n", 1)[1].split("```", 1)[0]
    account = gateway.account("1")
    sample = sample.replace("http://127.0.0.1:8000/v1", gateway.url + "/v1")
    sample = sample.replace("sk-…", account.secret)
    monkeypatch.chdir(tmp_path)
    exec(compile(sample, "docs/images.md", "exec"), {})
    assert png_size(base64.b64encode((tmp_path / "lighthouse-1.png").read_bytes()).decode()) == (
        512,
        512,
    )
    [record] = gateway.usage(account)
    assert (record.images, record.cost_nanos) == (2, 2 * PER_IMAGE)


def test_usage_reports_count_images_whole_hours_and_raw_rows_alike(
    gateway: Platform, sd: SdServerDouble
) -> None:
    account = gateway.account("1")
    assert generate(gateway, account, n=3).status_code == 200
    assert generate(gateway, account, model=SIZED, size="1024x1024").status_code == 200
    member = sign_in(gateway, org_id=account.organization_id)
    base = f"/api/orgs/{account.organization_id}/usage"
    now = datetime.now(UTC)
    try:
        # Off the hour the rows are summed; over whole hours, the hourly rollup.
        for start, end in (
            (now - timedelta(minutes=5), now + timedelta(minutes=5)),
            (
                now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=1),
                now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1),
            ),
        ):
            window = {"start": start.isoformat(), "end": end.isoformat()}
            summary = member.client.get(f"{base}/summary", params=window).json()
            assert (summary["requests"], summary["images"]) == (2, 4)
            assert summary["cost_nanos"] == 3 * PER_IMAGE + BY_SIZE["1024x1024"]
            by_model = member.client.get(f"{base}/breakdown", params=window).json()
            assert {g["name"]: g["images"] for g in by_model["groups"]} == {IMAGE: 3, SIZED: 1}
        log = member.client.get(f"{base}/requests").json()["data"]
        assert sorted(r["images"] for r in log) == [1, 3]
        csv = member.client.get(f"{base}/export.csv").text.splitlines()
        header = csv[0].split(",")
        assert sorted(int(line.split(",")[header.index("images")]) for line in csv[1:]) == [1, 3]
    finally:
        member.client.close()


def test_the_books_reconcile_after_image_requests(gateway: Platform) -> None:
    """Last of the module's requests: every image charge has its usage record, its ledger
    line and its rollup, and none went above its hold."""
    assert gateway.run(reconcile) == []


# ---------------------------------------------------------------- nothing configured


def test_without_an_image_model_the_endpoint_says_none_is_configured(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """The embedded platform's case: no image server ships with it."""
    tmp: Path = tmp_path_factory.mktemp("no-images")
    with fresh_database("sqlite", tmp) as url:
        platform = Platform(settings_for(url, tmp))
        platform.add_model(CHAT, input_price=1000, output_price=2000)
        platform.start()
        try:
            account = platform.account("1")
            answer = generate(platform, account, model="dall-e-3")
            assert answer.status_code == 404
            error = answer.json()["error"]
            assert error["code"] == "model_not_found"
            assert error["param"] == "model"
            assert "No image generation model is configured" in error["message"]
            listed = sdk(platform, account).models.list().data
            assert all(m.type != "image" for m in listed)  # type: ignore[attr-defined]
        finally:
            platform.stop()
