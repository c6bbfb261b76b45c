"""/api/admin/compute/…: operators edit the GPU cloud's catalog and price list.

Every change is audited; this process's snapshot is refreshed once the change is committed,
other processes' within their refresh interval.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, Path, Request

from gptapi.compute import catalog_admin, price_list
from gptapi.compute.catalog import CatalogEntry
from gptapi.compute.catalog_admin import CatalogError
from gptapi.compute.prices import GpuPrice
from gptapi.compute.provider import container_provider
from gptapi.console.audit import record_operator_change
from gptapi.console.compute.service import entry_out
from gptapi.console.deps import DbSession, PlatformAdmin, State, platform_admin
from gptapi.console.errors import ApiError, bad_request, conflict, not_found
from gptapi.console.operator.compute_schemas import (
    CatalogEntryChange,
    CatalogEntryCreate,
    GpuPriceSet,
    OperatorCatalogEntry,
    OperatorGpu,
    PriceListOut,
    StoragePriceSet,
)
from gptapi.kit.money import dollars_to_nanos, format_usd, nanos_to_decimal

router = APIRouter(
    prefix="/admin/compute", tags=["operator"], dependencies=[Depends(platform_admin)]
)
GpuType = Annotated[str, Path(min_length=1, max_length=100)]


def _refresh(state: State, tasks: BackgroundTasks) -> None:
    tasks.add_task(state.prices.refresh)


RefreshesPrices = Depends(_refresh)


def _refused(error: CatalogError) -> ApiError:
    if error.conflict:
        return conflict(error.message, code="catalog_entry_exists")
    if error.param == "slug":
        return not_found("catalog entry")
    return bad_request(error.message, param=error.param)


def _fields(body: CatalogEntryChange) -> dict[str, Any]:
    fields = {f: getattr(body, f) for f in body.model_fields_set if f not in ("slug",)}
    if "price_per_hour" in fields:
        price = fields.pop("price_per_hour")
        fields["price_nanos_per_hour"] = None if price is None else dollars_to_nanos(price)
    return fields


def _entry(entry: CatalogEntry, request: Request) -> OperatorCatalogEntry:
    providers = request.app.state.runtime.compute.providers
    return OperatorCatalogEntry(**entry_out(entry, providers).model_dump(), enabled=entry.enabled)


@router.get("/catalog", summary="Every catalog entry, disabled ones too")
async def list_entries(db: DbSession, request: Request) -> list[OperatorCatalogEntry]:
    prices = await price_list.load(db)
    return [_entry(entry, request) for entry in prices.entries]


@router.post(
    "/catalog",
    status_code=201,
    summary="Add a catalog entry",
    dependencies=[RefreshesPrices],
)
async def add_entry(
    body: CatalogEntryCreate,
    admin: PlatformAdmin,
    db: DbSession,
    state: State,
    request: Request,
) -> OperatorCatalogEntry:
    try:
        row = await catalog_admin.add_entry(db, body.slug, _fields(body), state.clock.now())
    except CatalogError as error:
        raise _refused(error) from None
    record_operator_change(
        db,
        admin,
        "compute_catalog.create",
        target_type="compute_catalog_entry",
        target_id=row.slug,
        data={"price_nanos_per_hour": row.price_nanos_per_hour},
    )
    return _entry(CatalogEntry.of(row), request)


@router.patch(
    "/catalog/{slug}",
    summary="Change a catalog entry: its price applies to deployments started from now on",
    dependencies=[RefreshesPrices],
)
async def change_entry(
    slug: str,
    body: CatalogEntryChange,
    admin: PlatformAdmin,
    db: DbSession,
    state: State,
    request: Request,
) -> OperatorCatalogEntry:
    try:
        row, changed = await catalog_admin.change_entry(db, slug, _fields(body), state.clock.now())
    except CatalogError as error:
        raise _refused(error) from None
    if changed:
        record_operator_change(
            db,
            admin,
            "compute_catalog.update",
            target_type="compute_catalog_entry",
            target_id=slug,
            data=changed,
        )
    return _entry(CatalogEntry.of(row), request)


def _gpu(gpu: GpuPrice, request: Request) -> OperatorGpu:
    providers = request.app.state.runtime.compute.providers
    return OperatorGpu(
        pods_available=container_provider(providers) is not None,
        gpu_type=gpu.gpu_type,
        memory_gb=gpu.memory_gb,
        community_per_hour=f"{nanos_to_decimal(gpu.community_nanos_per_hour):.2f}",
        secure_per_hour=f"{nanos_to_decimal(gpu.secure_nanos_per_hour):.2f}",
        community_nanos_per_hour=gpu.community_nanos_per_hour,
        secure_nanos_per_hour=gpu.secure_nanos_per_hour,
        enabled=gpu.enabled,
    )


@router.get("/prices", summary="The GPU price list, disabled GPU types too, and storage")
async def get_prices(db: DbSession, request: Request) -> PriceListOut:
    prices = await price_list.load(db)
    storage = prices.storage_nanos_per_gb_hour
    return PriceListOut(
        gpus=[_gpu(gpu, request) for gpu in prices.gpus],
        storage_per_gb_hour=format_usd(storage),
        storage_nanos_per_gb_hour=storage,
    )


@router.put(
    "/prices/gpus/{gpu_type}",
    summary="Add a GPU type or set its Community and Secure prices per GPU-hour",
    dependencies=[RefreshesPrices],
)
async def set_gpu_price(
    gpu_type: GpuType,
    body: GpuPriceSet,
    admin: PlatformAdmin,
    db: DbSession,
    state: State,
    request: Request,
) -> OperatorGpu:
    try:
        row, changed = await catalog_admin.set_gpu_price(
            db,
            gpu_type,
            memory_gb=body.memory_gb,
            community_nanos_per_hour=dollars_to_nanos(body.community_per_hour),
            secure_nanos_per_hour=dollars_to_nanos(body.secure_per_hour),
            enabled=body.enabled,
            now=state.clock.now(),
        )
    except CatalogError as error:
        raise _refused(error) from None
    if changed:
        record_operator_change(
            db, admin, "gpu_price.set", target_type="gpu_price", target_id=gpu_type, data=changed
        )
    return _gpu(GpuPrice.of(row), request)


@router.put(
    "/prices/storage",
    summary="Set the pod storage price per GB-hour",
    dependencies=[RefreshesPrices],
)
async def set_storage_price(
    body: StoragePriceSet, admin: PlatformAdmin, db: DbSession, state: State, request: Request
) -> PriceListOut:
    nanos = dollars_to_nanos(body.per_gb_hour)
    try:
        previous = await catalog_admin.set_storage_price(db, nanos, state.clock.now())
    except CatalogError as error:
        raise _refused(error) from None
    record_operator_change(
        db,
        admin,
        "storage_price.set",
        target_type="compute_rate",
        target_id="storage_per_gb_hour",
        data={"from": previous, "to": nanos},
    )
    await db.flush()
    return await get_prices(db, request)
