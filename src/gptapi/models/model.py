from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, CheckConstraint, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from gptapi.models.base import Base, UTCDateTime, utcnow

MODEL_KINDS = ("chat", "embedding", "rerank", "image")


class Model(Base):
    """A public model and its price. Prices are milli-dollars per 1M tokens (= nanos per token);
    an image model is priced per image instead, in nano-dollars (see `ModelPrice`)."""

    __tablename__ = "models"
    __table_args__ = (
        CheckConstraint("input_price_per_million_tokens >= 0", name="input_price_nonnegative"),
        CheckConstraint("output_price_per_million_tokens >= 0", name="output_price_nonnegative"),
        CheckConstraint("nanos_per_image >= 0", name="image_price_nonnegative"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    internal_name: Mapped[str] = mapped_column(String(100), unique=True)
    input_price_per_million_tokens: Mapped[int] = mapped_column(BigInteger)
    output_price_per_million_tokens: Mapped[int] = mapped_column(BigInteger)
    nanos_per_image: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    nanos_per_image_by_size: Mapped[dict[str, int] | None] = mapped_column(JSON, default=None)
    kind: Mapped[str] = mapped_column(String(20), default="chat")
    description: Mapped[str] = mapped_column(String(500), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
