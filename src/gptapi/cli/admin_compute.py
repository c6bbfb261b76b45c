"""`gptapi admin catalog …` and `gptapi admin gpus …`: the GPU cloud's catalog and price
list. Running platforms pick a change up within their refresh interval (10 s)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.admin.service import AdminError
from gptapi.cli import output
from gptapi.cli.admin import _amount, _run
from gptapi.compute import catalog_admin, price_list
from gptapi.compute.catalog_admin import CatalogError
from gptapi.kit.money import format_usd

catalog = typer.Typer(help="The GPU cloud's model catalog.", no_args_is_help=True)
gpus = typer.Typer(help="The GPU price list of custom pods, and storage.", no_args_is_help=True)
T = TypeVar("T")


def _do(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    async def guarded(session: AsyncSession) -> T:
        try:
            return await work(session)
        except CatalogError as error:
            raise AdminError(f"{error.param}: {error.message}") from None

    return _run(guarded)


def _now() -> datetime:
    return datetime.now(UTC)


@catalog.command("list")
def catalog_list() -> None:
    """Every entry, disabled ones too."""

    async def work(session: AsyncSession) -> None:
        prices = await price_list.load(session)
        output.table(
            ["slug", "name", "category", "provider", "gpu", "per hour", "enabled"],
            [
                [
                    e.slug,
                    e.name,
                    e.category,
                    e.provider,
                    f"{e.gpu_count}x {e.gpu_type}",
                    format_usd(e.price_nanos_per_hour, 2),
                    "yes" if e.enabled else "no",
                ]
                for e in prices.entries
            ],
        )

    _do(work)


Price = Annotated[str | None, typer.Option(help="USD per hour, GPU and storage included.")]


@catalog.command("add")
def catalog_add(
    slug: str,
    name: Annotated[str, typer.Option()],
    category: Annotated[str, typer.Option(help="chat, embeddings, speech_to_text, …")],
    gpu_type: Annotated[str, typer.Option()],
    price: Annotated[str, typer.Option(help="USD per hour, GPU and storage included.")],
    image: Annotated[str, typer.Option(help="The container RunPod runs.")],
    gpu_count: Annotated[int, typer.Option(min=0, max=8)] = 1,
    storage_gb: Annotated[int, typer.Option(min=0, max=2000)] = 0,
    description: Annotated[str, typer.Option()] = "",
    arg: Annotated[list[str] | None, typer.Option(help="A container argument (repeat).")] = None,
) -> None:
    """Add a RunPod entry."""
    fields: dict[str, Any] = {
        "name": name,
        "category": category,
        "provider": "runpod",
        "gpu_type": gpu_type,
        "gpu_count": gpu_count,
        "price_nanos_per_hour": _amount(price),
        "storage_gb": storage_gb,
        "description": description,
        "image": image,
        "args": arg or [],
    }

    async def work(session: AsyncSession) -> None:
        row = await catalog_admin.add_entry(session, slug, fields, _now())
        print(f"added {row.slug} at {format_usd(row.price_nanos_per_hour, 2)}/hr")

    _do(work)


def _change(slug: str, fields: dict[str, Any]) -> None:
    async def work(session: AsyncSession) -> None:
        _, changed = await catalog_admin.change_entry(session, slug, fields, _now())
        print(f"{slug}: " + (", ".join(sorted(changed)) or "nothing") + " changed")

    _do(work)


@catalog.command("set")
def catalog_set(
    slug: str,
    price: Price = None,
    name: Annotated[str | None, typer.Option()] = None,
    description: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Change an entry's price, name or description. Running deployments keep the price
    they started with; the new one applies to deployments started from now on."""
    fields: dict[str, Any] = {"name": name, "description": description}
    fields = {k: v for k, v in fields.items() if v is not None}
    if price is not None:
        fields["price_nanos_per_hour"] = _amount(price)
    _change(slug, fields)


@catalog.command("disable")
def catalog_disable(slug: str) -> None:
    """Hide an entry and refuse new deployments of it; running ones go on."""
    _change(slug, {"enabled": False})


@catalog.command("enable")
def catalog_enable(slug: str) -> None:
    """Offer a disabled entry again."""
    _change(slug, {"enabled": True})


@gpus.command("list")
def gpus_list() -> None:
    """GPU types with their prices per GPU-hour, and the storage price."""

    async def work(session: AsyncSession) -> None:
        prices = await price_list.load(session)
        output.table(
            ["gpu", "memory", "community", "secure", "enabled"],
            [
                [
                    g.gpu_type,
                    f"{g.memory_gb} GB",
                    format_usd(g.community_nanos_per_hour, 2),
                    format_usd(g.secure_nanos_per_hour, 2),
                    "yes" if g.enabled else "no",
                ]
                for g in prices.gpus
            ],
        )
        print(f"storage: {format_usd(prices.storage_nanos_per_gb_hour)} per GB-hour")

    _do(work)


@gpus.command("set")
def gpus_set(
    gpu_type: str,
    memory_gb: Annotated[int, typer.Option(min=1)],
    community: Annotated[str, typer.Option(help="USD per GPU-hour, Community Cloud.")],
    secure: Annotated[str, typer.Option(help="USD per GPU-hour, Secure Cloud.")],
    enabled: Annotated[bool, typer.Option("--enabled/--disabled")] = True,
) -> None:
    """Add a GPU type or set its prices; pods created from now on pay them."""

    async def work(session: AsyncSession) -> None:
        await catalog_admin.set_gpu_price(
            session,
            gpu_type,
            memory_gb=memory_gb,
            community_nanos_per_hour=_amount(community),
            secure_nanos_per_hour=_amount(secure),
            enabled=enabled,
            now=_now(),
        )
        print(f"{gpu_type}: {community}/hr Community, {secure}/hr Secure")

    _do(work)


@gpus.command("storage")
def gpus_storage(price: Annotated[str, typer.Argument(help="USD per GB-hour.")]) -> None:
    """Set the pod storage price per GB-hour."""

    async def work(session: AsyncSession) -> None:
        await catalog_admin.set_storage_price(session, _amount(price), _now())
        print(f"storage: {price} per GB-hour")

    _do(work)
