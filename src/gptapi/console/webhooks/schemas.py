"""Request and response bodies of the webhook endpoints."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    Field,
    StringConstraints,
    WithJsonSchema,
)

from gptapi.console.webhooks.catalog import EVENT_TYPE_NAMES


def _known_type(name: str) -> str:
    if name not in EVENT_TYPE_NAMES:
        raise ValueError(f"unknown event type {name!r}; see GET /api/webhooks/event-types")
    return name


EventTypeName = Annotated[
    str,
    AfterValidator(_known_type),
    WithJsonSchema({"type": "string", "enum": sorted(EVENT_TYPE_NAMES)}),
]
EventTypes = Annotated[
    list[EventTypeName],
    Field(min_length=1, max_length=50),
    AfterValidator(lambda names: sorted(set(names))),
]
# Scheme, host name or IPv4 address, optional port, then printable ASCII.
URL_PATTERN = r"^https?://[A-Za-z0-9.-]+(:([0-9]{1,4}|[1-5][0-9]{4}))?([/?#][!-~]*)?$"
Url = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=2000, pattern=URL_PATTERN),
    Field(description="http(s) URL; outside development, https to a public address."),
]
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]
DeliveryStatus = Literal["pending", "succeeded", "failed"]


class EventTypeOut(BaseModel):
    name: str
    description: str
    example: dict[str, Any] = Field(description="A full request body of this type.")


class EndpointCreate(BaseModel):
    url: Url
    description: Description = ""
    event_types: EventTypes
    enabled: bool = True


class EndpointUpdate(BaseModel):
    """Only the fields sent change. Enabling a disabled endpoint resumes delivery of new
    events; replay a time range to recover the ones missed."""

    url: Url | None = None
    description: Description | None = None
    event_types: EventTypes | None = None
    enabled: bool | None = None


class EndpointOut(BaseModel):
    id: uuid.UUID
    url: str
    description: str
    event_types: list[str]
    enabled: bool
    disabled_reason: str = Field(
        description='"" while enabled or disabled by a member; "gone" after a 410 response, '
        '"failing" after failing for days.'
    )
    failing_since: datetime | None
    previous_secret_expires_at: datetime | None = Field(
        description="Until then the previous secret signs too (after a rotation)."
    )
    created_at: datetime
    updated_at: datetime


class EndpointCreated(EndpointOut):
    secret: str = Field(description="The whsec_ signing secret; shown only now.")


class SecretRotate(BaseModel):
    overlap_seconds: int = Field(
        default=86400,
        ge=0,
        le=7 * 86400,
        description="How long the old secret keeps signing beside the new one.",
    )


class SecretRotated(BaseModel):
    secret: str = Field(description="The new whsec_ signing secret; shown only now.")
    previous_secret_expires_at: datetime | None


class DeliveryOut(BaseModel):
    id: uuid.UUID
    event_id: uuid.UUID
    webhook_id: str = Field(description="The webhook-id header, the same on every attempt.")
    event_type: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime | None
    last_response_status: int | None
    created_at: datetime
    updated_at: datetime


class AttemptOut(BaseModel):
    attempt: int
    url: str
    request_headers: dict[str, Any]
    response_status: int | None
    response_body: str = Field(description="The first 4 KiB of the response.")
    error: str
    latency_ms: int
    created_at: datetime


class DeliveryDetail(DeliveryOut):
    request_body: str
    attempt_log: list[AttemptOut]


class Replay(BaseModel):
    since: AwareDatetime
    until: AwareDatetime | None = Field(default=None, description="Default: now.")


class Replayed(BaseModel):
    replayed: int = Field(description="Deliveries queued again (failed or never sent).")
