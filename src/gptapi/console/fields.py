"""Field types shared by the account request bodies. Text that reaches the database is held
to printable characters: PostgreSQL refuses NUL, and control characters have no place in a
name or an address."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any

from fastapi import Path
from pydantic import Field, GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

from gptapi.console.auth.passwords import MAX_LENGTH, MIN_LENGTH

PRINTABLE = r"^[^\x00-\x1f\x7f]*$"
# A BIGINT row id in a path: beyond what the column holds is a 422, not a database error.
RowId = Annotated[int, Path(ge=1, le=2**63 - 1)]

# Sign-in accepts any printable string: operator accounts such as admin@localhost are not
# public addresses, and a malformed address must get the same answer as an unknown one.
AnyEmail = Annotated[str, Field(min_length=1, max_length=320, pattern=PRINTABLE)]
# Printable ASCII around one @ and a dot: the verification mail, not a grammar, proves an
# address works, and the schema states exactly what is accepted.
NewEmail = Annotated[
    str,
    Field(
        max_length=320, pattern=r"^[!-?A-~]+@[!-?A-~]+\.[!-?A-~]+$", examples=["ada@example.com"]
    ),
]
Name = Annotated[str, Field(max_length=200, pattern=PRINTABLE)]
# What secrets.token_urlsafe makes.
Token = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_-]+$")]
NewPassword = Annotated[str, Field(min_length=MIN_LENGTH, max_length=MAX_LENGTH)]
Password = Annotated[str, Field(min_length=1, max_length=MAX_LENGTH)]
TotpDigits = Annotated[str, Field(min_length=6, max_length=20, description="6-digit TOTP code")]
SessionId = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


@dataclass(frozen=True)
class UsdAmount:
    """`Annotated[Decimal, UsdAmount(...)]`: a dollar amount, documented as a decimal string
    ("25.00") because JSON numbers are binary floats and money must not be; JSON numbers are
    accepted as well. The digit limits are the whole range check the schema states: tighter
    business limits (the top-up minimum and maximum, …) are answered with 400 by services."""

    integer_digits: int
    places: int
    signed: bool = False

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.decimal_schema(
            max_digits=self.integer_digits + self.places,
            decimal_places=self.places,
            allow_inf_nan=False,
            ge=None if self.signed else Decimal(0),
        )

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        sign = "-?" if self.signed else ""
        pattern = rf"^{sign}\d{{1,{self.integer_digits}}}(\.\d{{1,{self.places}}})?$"
        return {"type": "string", "pattern": pattern, "examples": ["25.00"]}
