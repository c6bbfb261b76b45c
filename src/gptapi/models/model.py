from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, CheckConstraint, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from gptapi.models.base import Base, UTCDateTime, utcnow

MODEL_KINDS = ("chat", "embedding", "rerank", "image", "speech", "transcription")

# What a model of each kind is metered in: its price is nano-dollars per one of these (the
# input price; a kind with one unit has no output price).
UNITS = {
    "chat": "tokens",
    "embedding": "tokens",
    "rerank": "tokens",
    "image": "images",  # priced in `nanos_per_image` (and by size), not the token columns
    "speech": "characters",  # of the text read out
    "transcription": "audio_seconds",  # of the audio heard, rounded up to a whole second
}


class Model(Base):
    """A public model and its price, in nano-dollars per unit of what it is metered in
    (`UNITS` of its kind): per token for chat, embeddings and rerank (= milli-dollars per 1M
    tokens), per input character for speech (= milli-dollars per 1M characters) and per
    second of audio for transcription (set by the minute). The column names are the token
    ones they began as. An image model is priced per image instead, in nano-dollars
    (`nanos_per_image`, or by size)."""

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
