"""The GPU price list for custom pods (Tier 2): per GPU per hour in Community and Secure
cloud, and storage per GB-hour. A pod's price is the GPU price times the count plus its
storage, shown as one hourly price and billed by the second like deployments.

The list lives in the database (`gpu_prices`, `compute_rates`; seeded by migration 0020 and
edited by operators); `gptapi.compute.price_list` loads it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from gptapi.models import GpuPriceRow


class Cloud(StrEnum):
    COMMUNITY = "COMMUNITY"
    SECURE = "SECURE"


@dataclass(frozen=True, slots=True)
class GpuPrice:
    gpu_type: str
    memory_gb: int
    community_nanos_per_hour: int
    secure_nanos_per_hour: int
    enabled: bool = True  # a disabled GPU type is hidden and cannot be chosen

    @classmethod
    def of(cls, row: GpuPriceRow) -> GpuPrice:
        return cls(
            row.gpu_type,
            row.memory_gb,
            row.community_nanos_per_hour,
            row.secure_nanos_per_hour,
            row.enabled,
        )

    def per_hour(self, cloud: Cloud) -> int:
        if cloud is Cloud.COMMUNITY:
            return self.community_nanos_per_hour
        return self.secure_nanos_per_hour


GPU_COUNTS = (1, 2, 4, 8)


@dataclass(frozen=True, slots=True)
class Estimate:
    gpu_nanos_per_hour: int
    storage_nanos_per_hour: int

    @property
    def nanos_per_hour(self) -> int:
        return self.gpu_nanos_per_hour + self.storage_nanos_per_hour

    @property
    def nanos_per_day(self) -> int:
        return self.nanos_per_hour * 24


def estimate(
    gpu: GpuPrice, count: int, cloud: Cloud, storage_gb: int, storage_nanos_per_gb_hour: int
) -> Estimate:
    return Estimate(gpu.per_hour(cloud) * count, storage_nanos_per_gb_hour * storage_gb)
