"""The public status page: no sign-in, safe to cache for a few seconds."""

from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks, Request, Response
from pydantic import BaseModel, Field

from gptapi.console.auth.sessions import client_ip
from gptapi.console.deps import DbSession, State
from gptapi.console.fields import NewEmail
from gptapi.console.rows import get_or_404
from gptapi.console.status import repository, subscribers
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


class Subscribe(BaseModel):
    email: NewEmail


class SubscriptionToken(BaseModel):
    token: str = Field(min_length=1, max_length=200)


class SubscriptionNotice(BaseModel):
    message: str


@router.post(
    "/subscribe",
    status_code=202,
    summary="Ask for incident mail; a link to confirm is mailed (double opt-in)",
)
async def subscribe(
    body: Subscribe, request: Request, background: BackgroundTasks, db: DbSession, state: State
) -> SubscriptionNotice:
    mail = await subscribers.subscribe(
        db,
        body.email,
        ip=client_ip(request),
        base_url=state.settings.base_url,
        now=state.clock.now(),
    )
    if mail is not None:
        background.add_task(state.mailer.send, mail)
    return SubscriptionNotice(
        message="Check your inbox: incident mail starts once you open the link we sent."
    )


@router.post("/subscribe/confirm", summary="Confirm a subscription with the mailed token")
async def confirm_subscription(
    body: SubscriptionToken, db: DbSession, state: State
) -> SubscriptionNotice:
    await subscribers.confirm(db, body.token, state.clock.now())
    return SubscriptionNotice(message="You will be mailed when an incident opens or changes.")


@router.post("/unsubscribe", summary="Stop incident mail (the link in every mail)")
async def unsubscribe(body: SubscriptionToken, db: DbSession, state: State) -> SubscriptionNotice:
    await subscribers.unsubscribe(db, state.secret_key, body.token)
    return SubscriptionNotice(message="You will get no more incident mail.")
