"""The queries of stored responses; every one is scoped to the caller's organisation, so
another organisation's response is simply not found."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gptapi.models.stored_response import StoredResponse


class ResponseStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def get(self, organization_id: uuid.UUID, response_id: str) -> StoredResponse | None:
        async with self._sessions() as session:
            found: StoredResponse | None = await session.scalar(
                select(StoredResponse).where(
                    StoredResponse.id == response_id,
                    StoredResponse.organization_id == organization_id,
                )
            )
            return found

    async def add(
        self,
        organization_id: uuid.UUID,
        history: list[dict[str, Any]],
        response: dict[str, Any],
    ) -> None:
        async with self._sessions() as session, session.begin():
            session.add(
                StoredResponse(
                    id=response["id"],
                    organization_id=organization_id,
                    history=history,
                    response=response,
                )
            )

    async def delete(self, organization_id: uuid.UUID, response_id: str) -> bool:
        async with self._sessions() as session, session.begin():
            result = await session.execute(
                delete(StoredResponse).where(
                    StoredResponse.id == response_id,
                    StoredResponse.organization_id == organization_id,
                )
            )
            return bool(getattr(result, "rowcount", 0))
