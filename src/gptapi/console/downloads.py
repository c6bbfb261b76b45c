"""Downloads (CSV exports, PDF invoices and statements): one response shape each, documented
in OpenAPI."""

from __future__ import annotations

from collections.abc import AsyncIterable
from typing import Any

from starlette.responses import Response, StreamingResponse

CSV_MEDIA_TYPE = "text/csv; charset=utf-8"

# For the route decorator: `@router.get(..., response_class=Response, responses=CSV_RESPONSES)`.
CSV_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "A CSV file, sent as an attachment.",
        "content": {"text/csv": {"schema": {"type": "string"}}},
    }
}

PDF_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "A PDF document, sent as an attachment.",
        "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
    }
}


def _attachment(filename: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{filename}"'}


def csv_file(body: str, filename: str) -> Response:
    return Response(body, media_type=CSV_MEDIA_TYPE, headers=_attachment(filename))


def csv_stream(chunks: AsyncIterable[str], filename: str) -> StreamingResponse:
    return StreamingResponse(chunks, media_type=CSV_MEDIA_TYPE, headers=_attachment(filename))


def pdf_file(body: bytes, filename: str) -> Response:
    return Response(body, media_type="application/pdf", headers=_attachment(filename))
