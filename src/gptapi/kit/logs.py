"""Log output: readable lines by default, or one JSON object per line (LOG_FORMAT=json) for a
log collector. A record's `fields` (passed as `extra={"fields": {...}}`) become keys of its
JSON object."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Literal

import orjson

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            line.update(fields)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(line, default=str).decode()


def configure_logging(level: str, log_format: Literal["text", "json"]) -> None:
    handler = logging.StreamHandler()
    json = log_format == "json"
    handler.setFormatter(JsonFormatter() if json else logging.Formatter(TEXT_FORMAT))
    logging.basicConfig(level=level.upper(), handlers=[handler])
