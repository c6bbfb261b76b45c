"""Models and price schedules through the operator API."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, get_args

from gptapi.console.operator.schemas import ModelKind
from gptapi.models.model import MODEL_KINDS
from tests.support.console import Member
from tests.support.platform import Platform
from tests.support.threads import wait_until


def new_model(operator: Member, **fields: Any) -> dict[str, Any]:
    body = {
        "name": "Test Model",
        "internal_name": f"test-{uuid.uuid4().hex[:8]}",
        "input": "0.05",
        "output": "0.100",
        **fields,
    }
    response = operator.client.post("/api/admin/models", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def audit(operator: Member, **params: Any) -> list[dict[str, Any]]:
    response = operator.client.get("/api/admin/audit-log", params=params)
    assert response.status_code == 200, response.text
    return list(response.json()["data"])


def test_create_and_update_a_model(operator: Member) -> None:
    model = new_model(operator, description="small and quick")
    assert model["price"] == {
        "id": None,
        "unit": "tokens",
        "input_usd_per_million": "0.050",
        "output_usd_per_million": "0.100",
        "input_nanos_per_token": 50,
        "output_nanos_per_token": 100,
        "usd_per_minute": None,
        "usd_per_image": "0.000000000",  # priced per token, not per image
        "nanos_per_image": 0,
        "usd_per_image_by_size": {},
        "effective_from": None,
    }
    assert model["scheduled"] == [] and model["active"] is True
    again = operator.client.post(
        "/api/admin/models",
        json={"name": "x", "internal_name": model["internal_name"], "input": "1", "output": "1"},
    )
    assert again.status_code == 409
    patched = operator.client.patch(
        f"/api/admin/models/{model['id']}", json={"active": False, "name": "Renamed"}
    ).json()
    assert patched["active"] is False and patched["name"] == "Renamed"
    assert patched["description"] == "small and quick"
    listed = {m["id"]: m for m in operator.client.get("/api/admin/models").json()}
    assert listed[model["id"]]["name"] == "Renamed"
    actions = [
        e["action"] for e in audit(operator, action="model") if e["target_id"] == str(model["id"])
    ]
    assert actions == ["model.update", "model.create"]


def test_a_price_change_is_scheduled_and_audited(operator: Member) -> None:
    model = new_model(operator)
    later = datetime.now(UTC) + timedelta(days=7)
    response = operator.client.post(
        f"/api/admin/models/{model['id']}/prices",
        json={"input": "0.2", "output": "0.4", "effective_from": later.isoformat()},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["price"]["input_nanos_per_token"] == 50  # not yet
    [scheduled] = body["scheduled"]
    assert scheduled["input_nanos_per_token"] == 200 and scheduled["output_nanos_per_token"] == 400
    assert datetime.fromisoformat(scheduled["effective_from"]) == later
    clash = operator.client.post(
        f"/api/admin/models/{model['id']}/prices",
        json={"input": "0.3", "output": "0.4", "effective_from": later.isoformat()},
    )
    assert clash.status_code == 409 and clash.json()["error"]["code"] == "price_exists"
    now = operator.client.post(
        f"/api/admin/models/{model['id']}/prices", json={"input": "0.07", "output": "0.08"}
    ).json()
    assert now["price"]["input_nanos_per_token"] == 70  # in force at once
    assert [p["input_nanos_per_token"] for p in now["history"]] == [50, 70]
    assert [p["input_nanos_per_token"] for p in now["scheduled"]] == [200]
    path = f"/api/admin/models/{model['id']}/prices"
    in_force = now["history"][-1]["id"]
    assert operator.client.delete(f"{path}/{in_force}").status_code == 409
    assert operator.client.delete(f"{path}/999999").status_code == 404
    withdrawn = operator.client.delete(f"{path}/{scheduled['id']}")
    assert withdrawn.status_code == 200 and withdrawn.json()["scheduled"] == []
    assert operator.client.delete(f"{path}/{scheduled['id']}").status_code == 404
    assert audit(operator, action="model.price_cancel")[0]["data"]["price_id"] == scheduled["id"]
    [entry, *_] = audit(operator, action="model.price_change")
    assert entry["target_id"] == str(model["id"])
    assert entry["data"]["input_usd_per_million"] == "0.07"
    assert entry["actor_user_id"] == str(operator.user_id)


def test_bad_prices_are_refused_and_change_nothing(operator: Member) -> None:
    model = new_model(operator)
    path = f"/api/admin/models/{model['id']}/prices"
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"input": "0.0001", "output": "1"}, 422, "validation_error"),  # finer than $0.001
        ({"input": "-1", "output": "1"}, 422, "validation_error"),
        ({"input": "abc", "output": "1"}, 422, "validation_error"),
        ({"input": "1"}, 400, "invalid_request"),  # a chat model has an output price
        ({"input": "1", "output": "1", "per_minute": "0.006"}, 400, "invalid_request"),
        ({"input": "1", "output": "1", "effective_from": "2030-01-01T00:00:00"}, 422, ""),
        ({"input": "1", "output": "1", "effective_from": past}, 400, "price_in_past"),
        ({"input": "1", "output": "1", "effective_from": "9999-12-31T23:59:59-05:00"}, 400, ""),
    ]
    for body, status, code in cases:
        response = operator.client.post(path, json=body)
        assert response.status_code == status, (body, response.text)
        if code:
            assert response.json()["error"]["code"] == code
    assert (
        operator.client.post(
            "/api/admin/models/999999/prices", json={"input": "1", "output": "1"}
        ).status_code
        == 404
    )
    after = operator.client.get(f"/api/admin/models/{model['id']}").json()
    assert after["history"] == model["history"] and after["scheduled"] == []


def test_the_gateway_catalog_learns_a_new_model(console: Platform, operator: Member) -> None:
    model = new_model(operator)
    catalog = console.runtime.serving.catalog
    wait_until(lambda: catalog.get(model["internal_name"]) is not None, timeout=10)
    assert catalog.get(model["internal_name"]).input_price == 50


def test_audio_models_are_priced_in_their_own_units(operator: Member) -> None:
    speech = new_model(operator, kind="speech", input="15", output=None)
    assert speech["kind"] == "speech"
    assert speech["price"]["unit"] == "characters"
    assert speech["price"]["input_nanos_per_token"] == 15_000  # $15 per 1M characters
    transcription = new_model(
        operator, kind="transcription", input=None, output=None, per_minute="0.006"
    )
    price = transcription["price"]
    assert price["unit"] == "audio_seconds"
    assert price["input_nanos_per_token"] == 100_000  # $0.006 a minute, billed per second
    assert price["usd_per_minute"] == "0.006000000"
    changed = operator.client.post(
        f"/api/admin/models/{transcription['id']}/prices", json={"per_minute": "0.0036"}
    )
    assert changed.status_code == 201, changed.text
    assert changed.json()["price"]["input_nanos_per_token"] == 60_000
    refused: list[tuple[dict[str, Any], str]] = [
        ({"per_minute": "0.0061"}, "per_minute"),  # not a whole nano-dollar per second
        ({"input": "1"}, "input"),  # transcription is priced by the minute
        ({}, "per_minute"),
    ]
    for body, param in refused:
        response = operator.client.post(
            f"/api/admin/models/{transcription['id']}/prices", json=body
        )
        assert response.status_code == 400, (body, response.text)
        assert response.json()["error"]["param"] == param
    response = operator.client.post(
        f"/api/admin/models/{speech['id']}/prices", json={"input": "1", "output": "1"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "output"


def test_a_reranker_is_a_kind_of_its_own(console: Platform, operator: Member) -> None:
    assert get_args(ModelKind) == MODEL_KINDS
    model = new_model(operator, kind="rerank", output="0")
    assert model["kind"] == "rerank"
    catalog = console.runtime.serving.catalog
    wait_until(lambda: catalog.get(model["internal_name"]) is not None, timeout=10)
    assert catalog.get(model["internal_name"]).kind == "rerank"
    body = {"name": "x", "internal_name": "x-1", "input": "1", "output": "0", "kind": "reranker"}
    refused = operator.client.post("/api/admin/models", json=body)
    assert refused.status_code == 422
    assert "kind" in refused.text
