"""Request schemas of the /v1 surfaces: what is validated before anything is forwarded.

Only fields the gateway relies on, or whose bad values deserve a clear 400, are declared;
every other field passes through to llama-server untouched (extra="allow").
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import PydanticCustomError

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


# Messages and tools are declared as far as llama-server parses them itself: a malformed
# one would otherwise come back from it as a 500 (a 502 here) instead of a 400.


class ContentPart(_Schema):
    type: NonEmptyStr  # text, image_url, input_audio…: llama-server judges what it supports
    text: str | None = None

    @model_validator(mode="after")
    def _text_parts_have_text(self) -> ContentPart:
        if self.type == "text" and self.text is None:
            raise PydanticCustomError("text_part", "a text part needs a 'text' string")
        return self


class FunctionCall(_Schema):
    name: NonEmptyStr
    arguments: str  # JSON text, as OpenAI sends it


class ToolCall(_Schema):
    id: str | None = None
    type: Literal["function"]
    function: FunctionCall


class ChatMessage(_Schema):
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    # The list first, so a bad part is reported as such rather than as "not a string".
    content: list[ContentPart] | str | None = None
    name: str | None = None
    tool_calls: list[ToolCall] | None = None
    tool_call_id: str | None = None


class FunctionDefinition(_Schema):
    name: NonEmptyStr
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class Tool(_Schema):
    type: Literal["function"]  # the only kind llama-server runs
    function: FunctionDefinition


class ChatCompletionRequest(_Generation):
    messages: Annotated[list[ChatMessage], Field(min_length=1)]
    max_completion_tokens: Annotated[int, Field(ge=1)] | None = None
    tools: list[Tool] | None = None
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
    # A union reports one error per branch, with the branch's name in the location
    # ("str", "list[ContentPart]"); without those names the location is what the client
    # sent wrong, down to the field inside a list item.
    parts: list[str] = []
    for part in error["loc"]:
        if isinstance(part, int):
            parts.append(f"[{part}]")
        elif (parts and not part.isidentifier()) or part in _TYPE_BRANCHES or "[" in part:
            continue
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
