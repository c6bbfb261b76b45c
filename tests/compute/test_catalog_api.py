"""The model catalog is public, carries the seed's cards and prices, and says what is
deployable on this platform."""

from __future__ import annotations

import httpx

from tests.support.platform import Platform

SEED_PRICES = {
    "llama-3.1-70b": "1.99",
    "mistral-7b": "0.45",
    "whisper-large-v3": "0.35",
    "sdxl": "0.45",
    "flux-dev": "0.89",
    "xtts-v2": "0.35",
}


def test_catalog_is_public_with_the_seed_cards(gpu: Platform) -> None:
    entries = httpx.get(f"{gpu.url}/api/compute/catalog").json()
    by_slug = {entry["slug"]: entry for entry in entries}
    assert len(entries) >= 15
    for slug, price in SEED_PRICES.items():
        assert by_slug[slug]["price_per_hour"] == price
    big = by_slug["llama-3.1-70b"]
    assert big["gpu_type"] == "NVIDIA A100 80GB PCIe"
    assert big["storage_gb"] == 50
    assert big["price_nanos_per_hour"] == 1_990_000_000
    assert big["image"] == "ghcr.io/ggml-org/llama.cpp:server-cuda"
    assert "-hf" in big["args"]
    # Only what a configured provider runs is deployable: here, the local llama.cpp.
    deployable = {entry["slug"] for entry in entries if entry["deployable"]}
    assert deployable == {"smollm2-135m"}
    assert by_slug["smollm2-135m"]["provider"] == "local"


def test_categories_and_filtering(gpu: Platform) -> None:
    categories = httpx.get(f"{gpu.url}/api/compute/catalog/categories").json()
    assert {c["id"] for c in categories} == {
        "chat",
        "embeddings",
        "speech_to_text",
        "text_to_speech",
        "image",
    }
    images = httpx.get(f"{gpu.url}/api/compute/catalog", params={"category": "image"}).json()
    assert {e["category"] for e in images} == {"image"}
    count = next(c["count"] for c in categories if c["id"] == "image")
    assert len(images) == count
    refused = httpx.get(f"{gpu.url}/api/compute/catalog", params={"category": "video"})
    assert refused.status_code == 422
    assert refused.json()["error"]["param"] == "category"


def test_one_entry_and_an_unknown_one(gpu: Platform) -> None:
    entry = httpx.get(f"{gpu.url}/api/compute/catalog/flux-dev").json()
    assert (entry["name"], entry["category"], entry["price_per_hour"]) == (
        "Flux Dev",
        "image",
        "0.89",
    )
    missing = httpx.get(f"{gpu.url}/api/compute/catalog/gpt-5")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
