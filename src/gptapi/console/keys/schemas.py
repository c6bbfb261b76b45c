"""Request and response bodies of the API key endpoints."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, Field, StringConstraints
from pydantic.json_schema import SkipJsonSchema

from gptapi.kit.key_scopes import Scope

KeyName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
# NULL: the organisation's default; 0: unlimited.
Limit = Annotated[int, Field(ge=0, le=2_000_000_000)]
SpendCap = Annotated[
    int, Field(ge=0, le=2**63 - 1, description="Nano-dollars per calendar month (UTC).")
]
ModelNames = Annotated[
    list[Annotated[str, StringConstraints(min_length=1, max_length=100)]],
    Field(
        min_length=1, max_length=100, description="Model ids this key may call; null: every model."
    ),
]


Scopes = Annotated[
    list[Scope],
    Field(
        min_length=1,
        max_length=len(Scope),
        description="What the key may do: `inference` is /v1; the others open "
        "/api/orgs/{org_id}/… routes (deployments, billing, usage, keys) to it.",
    ),
]


KeyStatus = Literal["active", "revoked", "expired"]
# test: gpt_test_… keys, served like live ones against the same models but never charged,
# with tight limits of their own (TEST_KEY_RPM_LIMIT / TEST_KEY_TPM_LIMIT).
KeyMode = Literal["live", "test"]


class KeyCreate(BaseModel):
    name: KeyName
    mode: KeyMode = "live"
    expires_at: AwareDatetime | None = None
    rpm_limit: Limit | None = None
    tpm_limit: Limit | None = None
    monthly_spend_cap_nanos: SpendCap | None = None
    allowed_models: ModelNames | None = None
    scopes: Scopes = Field(default_factory=lambda: [Scope.INFERENCE])


class KeyUpdate(BaseModel):
    """Only the fields sent change; null clears a limit, cap, expiry or model list."""

    name: KeyName | SkipJsonSchema[None] = None  # may be left out, not cleared
    expires_at: AwareDatetime | None = None
    rpm_limit: Limit | None = None
    tpm_limit: Limit | None = None
    monthly_spend_cap_nanos: SpendCap | None = None
    allowed_models: ModelNames | None = None
    scopes: Scopes | SkipJsonSchema[None] = None  # may be left out, not cleared


class KeyOut(BaseModel):
    id: uuid.UUID
    name: str
    prefix: str = Field(description="The start of the secret, for recognising the key.")
    mode: KeyMode
    status: KeyStatus
    created_at: datetime
    created_by: uuid.UUID
    created_by_email: str | None
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None
    rpm_limit: int | None
    tpm_limit: int | None
    monthly_spend_cap_nanos: int | None
    allowed_models: list[str] | None
    scopes: list[Scope]
    month_to_date_spend_nanos: int


class KeyCreated(KeyOut):
    secret: str = Field(description="The API key itself. Shown once: store it now.")
