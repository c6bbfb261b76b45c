"""Loading one row by primary key for an endpoint that answers 404 when it is missing."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.console.errors import not_found

Row = TypeVar("Row")


async def get_or_404(db: AsyncSession, table: type[Row], key: Any, what: str) -> Row:
    row = await db.get(table, key)
    if row is None:
        raise not_found(what)
    return row
