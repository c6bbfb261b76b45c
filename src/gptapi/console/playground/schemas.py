from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field


class PlaygroundKey(BaseModel):
    key_id: uuid.UUID
    secret: str = Field(description="Send as `Authorization: Bearer` to /v1 until it expires.")
    expires_at: datetime
