"""The public status page: no sign-in, safe to cache for a few seconds."""

from __future__ import annotations

from fastapi import APIRouter, Response

from gptapi.console.deps import DbSession, State
from gptapi.console.rows import get_or_404
from gptapi.console.status import repository
from gptapi.console.status.feed import incident_feed
from gptapi.console.status.incidents import describe
from gptapi.console.status.page import status_page
from gptapi.console.status.schemas import IncidentId, IncidentOut, StatusPage
from gptapi.models import Incident

router = APIRouter(prefix="/status", tags=["status"])

CACHE = {"Cache-Control": "public, max-age=15"}
FEED_LENGTH = 50


@router.get("", summary="Overall status, services, servers, uptime and recent incidents")
async def get_status(db: DbSession, state: State, response: Response) -> StatusPage:
    response.headers.update(CACHE)
    return await status_page(db, state.settings, state.clock.now())


@router.get("/incidents/{incident_id}", summary="One incident with all its updates")
async def get_incident(incident_id: IncidentId, db: DbSession, response: Response) -> IncidentOut:
    incident = await get_or_404(db, Incident, incident_id, "incident")
    response.headers.update(CACHE)
    return (await describe(db, [incident]))[0]


@router.get(
    "/feed.atom",
    summary="Incidents as an Atom feed",
    response_class=Response,
    responses={200: {"content": {"application/atom+xml": {}}}},
)
async def get_feed(db: DbSession, state: State) -> Response:
    incidents = await describe(db, await repository.latest_incidents(db, limit=FEED_LENGTH))
    body = incident_feed(incidents, base_url=state.settings.base_url, now=state.clock.now())
    return Response(body, media_type="application/atom+xml", headers=CACHE)
