"""Request and response bodies of /api/contact."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from gptapi.console.fields import NewEmail


def _text(refused: str) -> str:
    """No character of `refused` (a regex class body), and at least one that is not blank."""
    return rf"^[^{refused}]*[^\s{refused}][^{refused}]*$"


# Something to read and no control characters: a message may hold line breaks and tabs, a
# name may not.
ONE_LINE = _text(r"\x00-\x1f\x7f")
LINES = _text(r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f")


class ContactForm(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=200, pattern=ONE_LINE)]
    email: NewEmail
    message: Annotated[str, Field(min_length=1, max_length=5000, pattern=LINES)]


class ContactReceived(BaseModel):
    id: int
    received_at: datetime
