"""The one error shape of /api: {"error": {"code", "message", "param"}}, documented in OpenAPI."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import JSONResponse


class ErrorDetail(BaseModel):
    code: str
    message: str
    param: str | None = None


class ErrorBody(BaseModel):
    error: ErrorDetail


class ApiError(Exception):
    """A client-facing failure: raise it anywhere under /api."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        param: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.param = param
        self.headers = headers

    def response(self) -> JSONResponse:
        body = ErrorBody(error=ErrorDetail(code=self.code, message=self.message, param=self.param))
        return JSONResponse(body.model_dump(), self.status, self.headers)


def not_found(what: str = "resource") -> ApiError:
    # The same answer whether the thing does not exist or belongs to someone else.
    return ApiError(404, "not_found", f"No such {what}.")


def forbidden(message: str, code: str = "permission_denied") -> ApiError:
    return ApiError(403, code, message)


def conflict(message: str, code: str = "conflict") -> ApiError:
    return ApiError(409, code, message)


def bad_request(
    message: str, *, param: str | None = None, code: str = "invalid_request"
) -> ApiError:
    return ApiError(400, code, message, param=param)


def validation_error(exc: RequestValidationError) -> ApiError:
    errors = exc.errors()
    first: dict[str, Any] = dict(errors[0]) if errors else {}
    location = [str(part) for part in first.get("loc", ()) if part not in ("body", "query", "path")]
    param = ".".join(location) or None
    message = str(first.get("msg", "Invalid request."))
    if param:
        message = f"{param}: {message}"
    return ApiError(422, "validation_error", message, param=param)


# Responses every /api route may give, for the OpenAPI document.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "The request is not valid."},
    401: {"model": ErrorBody, "description": "Not signed in."},
    403: {"model": ErrorBody, "description": "Signed in, but not allowed."},
    404: {"model": ErrorBody, "description": "No such resource (or not yours)."},
    409: {"model": ErrorBody, "description": "The resource's state does not allow this."},
    422: {"model": ErrorBody, "description": "A field failed validation."},
    429: {"model": ErrorBody, "description": "Too many attempts; see Retry-After."},
}


def is_api_path(request: Request) -> bool:
    return request.url.path.startswith("/api")
