from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Integer,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from gptapi.models.base import Base, UTCDateTime, utcnow


class ModelPrice(Base):
    """A model's price from `effective_from` until the next row's `effective_from`.

    A change is a new row, and a row in force is never changed or removed (only a change still
    to come can be withdrawn), so the price any past request paid stays on record. Before a
    model's first row, its `models` columns apply. Usage rows keep the cost they were charged.
    Prices are milli-dollars per 1M tokens (= nano-dollars per token). An image model's price
    is `nanos_per_image`, or the entry of `nanos_per_image_by_size` ("1024x1024": nanos) for
    the size asked; with such entries, only those sizes are offered.
    """

    __tablename__ = "model_prices"
    __table_args__ = (
        UniqueConstraint("model_id", "effective_from"),
        CheckConstraint("input_price_per_million_tokens >= 0", name="input_price_nonnegative"),
        CheckConstraint("output_price_per_million_tokens >= 0", name="output_price_nonnegative"),
        CheckConstraint("nanos_per_image >= 0", name="image_price_nonnegative"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    model_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), ForeignKey("models.id", ondelete="CASCADE")
    )
    input_price_per_million_tokens: Mapped[int] = mapped_column(BigInteger)
    output_price_per_million_tokens: Mapped[int] = mapped_column(BigInteger)
    nanos_per_image: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    nanos_per_image_by_size: Mapped[dict[str, int] | None] = mapped_column(JSON, default=None)
    effective_from: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
