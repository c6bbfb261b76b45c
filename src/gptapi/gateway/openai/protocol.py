"""Request schemas of the /v1 surfaces: what is validated before anything is forwarded.

Only fields the gateway relies on, or whose bad values deserve a clear 400, are declared;
every other field passes through to llama-server untouched (extra="allow").
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gptapi.gateway.errors import OpenAIError, invalid_request

NonEmptyStr = Annotated[str, Field(min_length=1)]
Temperature = Annotated[float, Field(ge=0, le=2)]
Penalty = Annotated[float, Field(ge=-2, le=2)]
TokenIds = Annotated[list[Annotated[int, Field(ge=0)]], Field(min_length=1)]


class _Schema(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)


class StreamOptions(_Schema):
    include_usage: bool = False


class _Generation(_Schema):
    model: NonEmptyStr
    stream: bool = False
    stream_options: StreamOptions | None = None
    max_tokens: Annotated[int, Field(ge=1)] | None = None
    n: Annotated[int, Field(ge=1, le=8)] = 1
    temperature: Temperature | None = None
    top_p: Annotated[float, Field(ge=0, le=1)] | None = None
    presence_penalty: Penalty | None = None
    frequency_penalty: Penalty | None = None
    stop: str | Annotated[list[str], Field(max_length=4)] | None = None
    seed: int | None = None
    user: str | None = None


class ChatMessage(_Schema):
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[dict[str, Any]] | None = None


class ChatCompletionRequest(_Generation):
    messages: Annotated[list[ChatMessage], Field(min_length=1)]
    max_completion_tokens: Annotated[int, Field(ge=1)] | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None
    response_format: dict[str, Any] | None = None
    logprobs: bool | None = None
    top_logprobs: Annotated[int, Field(ge=0, le=20)] | None = None


class CompletionRequest(_Generation):
    prompt: (
        NonEmptyStr
        | Annotated[list[str], Field(min_length=1)]
        | TokenIds
        | Annotated[list[TokenIds], Field(min_length=1)]
    )
    echo: bool | None = None
    logprobs: Annotated[int, Field(ge=0, le=5)] | None = None
    suffix: str | None = None


class EmbeddingRequest(_Schema):
    model: NonEmptyStr
    input: (
        NonEmptyStr
        | Annotated[list[NonEmptyStr], Field(min_length=1, max_length=2048)]
        | TokenIds
        | Annotated[list[TokenIds], Field(min_length=1, max_length=2048)]
    )
    encoding_format: Literal["float", "base64"] | None = None
    user: str | None = None


SchemaT = TypeVar("SchemaT", bound=BaseModel)
_TYPE_BRANCHES = {"str", "int", "list", "dict", "float", "bool"}


def parse(schema: type[SchemaT], body: dict[str, Any]) -> SchemaT:
    try:
        return schema.model_validate(body)
    except ValidationError as exc:
        raise _as_openai_error(exc) from None


def _as_openai_error(exc: ValidationError) -> OpenAIError:
    error = exc.errors(include_url=False)[0]
    # A union reports one error per branch; the location up to the branch name is what
    # the client sent wrong.
    parts: list[str] = []
    for part in error["loc"]:
        if isinstance(part, int):
            parts.append(f"[{part}]")
        elif (parts and not part.isidentifier()) or part in _TYPE_BRANCHES or "[" in part:
            break
        else:
            parts.append(("." if parts else "") + part)
    param = "".join(parts) or None
    if error["type"] == "missing":
        return invalid_request(f"Missing required parameter: '{param}'.", param=param)
    value = error.get("input")
    shown = repr(value) if not isinstance(value, (dict, list)) else type(value).__name__
    return invalid_request(
        f"Invalid value for '{param}': {error['msg'].rstrip('.')} (got {shown}).",
        param=param,
        code="invalid_value" if error["type"] != "extra_forbidden" else "unknown_parameter",
    )
