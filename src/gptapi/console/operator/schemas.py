"""Request and response bodies of the operator API."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, Field, HttpUrl

from gptapi.console.fields import UsdAmount

# USD per 1M tokens (per 1M characters for speech); stored as milli-dollars, so three
# decimal places at most.
PricePerMillion = Annotated[Decimal, UsdAmount(integer_digits=3, places=3)]
# USD per audio minute (transcription), billed per second: stored as nano-dollars per second,
# so a price must come to a whole number of them (a multiple of $0.00000006).
PricePerMinute = Annotated[Decimal, UsdAmount(integer_digits=3, places=9)]
# USD per image; stored as nano-dollars.
PricePerImage = Annotated[Decimal, UsdAmount(integer_digits=3, places=9)]
ImageSize = Annotated[str, Field(pattern=r"^[1-9][0-9]{1,3}x[1-9][0-9]{1,3}$")]
ModelKind = Literal["chat", "embedding", "rerank", "image", "speech", "transcription"]
GrantAmount = Annotated[Decimal, UsdAmount(integer_digits=6, places=9, signed=True)]


class PriceOut(BaseModel):
    id: int | None = Field(description="null for the price the model was created with")
    unit: str = Field(
        description="What the model is metered in: tokens, characters (speech), "
        "audio_seconds (transcription) or images."
    )
    input_usd_per_million: str = Field(description="Per 1M tokens, or 1M characters (speech).")
    output_usd_per_million: str
    input_nanos_per_token: int = Field(description="Nano-dollars per unit (token, character "
                                       "or audio second).")  # fmt: skip
    output_nanos_per_token: int
    usd_per_minute: str | None = Field(
        default=None, description="Transcription models: the price per audio minute."
    )
    usd_per_image: str = Field(description="Image models: the price of one image.")
    nanos_per_image: int
    usd_per_image_by_size: dict[str, str] = Field(
        description="Image models priced by size: one image of each size (the only sizes "
        "offered, the first for `size: auto`)."
    )
    effective_from: datetime | None = Field(
        description="When this price took or takes effect; null for the price the model was "
        "created with."
    )


class ModelOut(BaseModel):
    id: int
    name: str
    internal_name: str
    kind: str
    description: str
    active: bool
    created_at: datetime
    price: PriceOut = Field(description="The price in force now.")
    scheduled: list[PriceOut] = Field(description="Changes still to come, soonest first.")
    history: list[PriceOut] = Field(description="Every past price, oldest first.")


class Prices(BaseModel):
    """A model's price, in the fields of its kind (the others are refused): input and output
    (chat, embedding, rerank), input alone (speech), per_minute (transcription), or per_image
    or per_image_by_size (image)."""

    input: PricePerMillion | None = Field(
        default=None, description="Per 1M input tokens, or per 1M characters for speech."
    )
    output: PricePerMillion | None = Field(
        default=None, description="Per 1M output tokens (chat, embedding and rerank models)."
    )
    per_minute: PricePerMinute | None = Field(
        default=None, description="Per audio minute, billed per second (transcription only)."
    )
    per_image: PricePerImage | None = Field(default=None, description="Per image (image only).")
    per_image_by_size: dict[ImageSize, PricePerImage] | None = Field(
        default=None, description="Per image of each size offered (image only)."
    )


class ModelCreate(Prices):
    name: str = Field(min_length=1, max_length=200)
    internal_name: str = Field(
        min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]*$"
    )
    kind: ModelKind = "chat"
    description: str = Field(default="", max_length=500)
    active: bool = True


class ModelUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=500)
    active: bool | None = None


class PriceChange(Prices):
    effective_from: AwareDatetime | None = Field(
        default=None, description="Now when absent; never earlier than a minute ago."
    )


class ServerHealth(BaseModel):
    healthy: bool
    in_flight: int
    slots: int
    n_ctx: int | None
    consecutive_failures: int
    last_error: str


class ServerOut(BaseModel):
    id: int
    model: str
    base_url: str
    state: str
    source: str
    created_at: datetime
    health: ServerHealth | None = Field(
        description="This process's live view; null until the gateway has synced the server."
    )


class ServerCreate(BaseModel):
    model: str = Field(min_length=1, max_length=100)
    base_url: HttpUrl
    api_key: str | None = Field(default=None, max_length=500)


class ServerUpdate(BaseModel):
    state: Literal["active", "draining"]


class UserOut(BaseModel):
    id: uuid.UUID
    email: str
    name: str
    is_admin: bool
    is_active: bool
    email_verified: bool
    created_at: datetime


class UserPage(BaseModel):
    data: list[UserOut]
    next_cursor: str | None


class OrganizationOut(BaseModel):
    id: uuid.UUID
    name: str
    is_personal: bool
    is_active: bool
    balance_nanos: int
    balance_usd: str
    created_at: datetime
    owner_email: str | None = Field(
        default=None, description="The earliest owner's address, to tell like-named ones apart."
    )


class OrganizationPage(BaseModel):
    data: list[OrganizationOut]
    next_cursor: str | None


class CreditGrant(BaseModel):
    amount_usd: GrantAmount = Field(description="May be < 0 to correct a balance.")
    reason: str = Field(min_length=1, max_length=500)


class CreditGrantOut(BaseModel):
    applied: bool = Field(description="False when this Idempotency-Key was already applied.")
    idempotency_key: str
    amount_nanos: int
    amount_usd: str
    balance_nanos: int
    balance_usd: str


class AuditEntryOut(BaseModel):
    id: int
    action: str
    actor_user_id: uuid.UUID | None
    actor_email: str | None
    organization_id: uuid.UUID | None
    target_type: str
    target_id: str
    data: dict[str, Any]
    ip: str
    created_at: datetime


class AuditPage(BaseModel):
    data: list[AuditEntryOut]
    next_cursor: str | None
