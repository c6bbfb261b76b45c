"""Request schemas of the /v1 surfaces: what is validated before anything is forwarded.

The top-level fields declared on each request schema are that surface's allow-list: the
only fields that reach llama-server. Anything else is refused with a 400 naming it, because
llama-server obeys its own fields over OpenAI's (`n_predict` over `max_tokens`, `n_cmpl`
over `n`, `ignore_eos`, `n_probs`, LoRA and slot selection…) and would run, unbilled, work
the hold never reserved. A new field is honoured by declaring it here (with the bounds that
keep its cost inside the hold) and, if llama-server spells it differently, mapping it in
`plan.upstream_payload`.

Inside messages, content parts and tools, undeclared keys still pass (extra="allow"):
llama-server reads them only as content (image_url, input_audio, a tool's schema), never as
generation settings.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    model_validator,
)
from pydantic_core import PydanticCustomError

from gptapi.gateway.errors import OpenAIError, invalid_request

NonEmptyStr = Annotated[str, Field(min_length=1)]
Temperature = Annotated[float, Field(ge=0, le=2)]
Penalty = Annotated[float, Field(ge=-2, le=2)]
TokenIds = Annotated[list[Annotated[int, Field(ge=0)]], Field(min_length=1)]


class _Schema(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)


class _Request(BaseModel):
    """A surface's request: its declared fields are all that is accepted and forwarded."""

    model_config = ConfigDict(extra="forbid", strict=True)


class StreamOptions(_Request):
    include_usage: bool = False


# Generations forwarded for one request (n, times the prompts of /v1/completions): each one
# is a request of its own upstream, holding a slot, so one request cannot occupy the fleet.
MAX_GENERATIONS = 16


class _Generation(_Request):
    model: NonEmptyStr
    stream: bool = False
    stream_options: StreamOptions | None = None
    max_tokens: Annotated[int, Field(ge=1)] | None = None
    n: Annotated[int, Field(ge=1, le=MAX_GENERATIONS)] = 1
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
    parallel_tool_calls: bool | None = None
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


class EmbeddingRequest(_Request):
    model: NonEmptyStr
    input: (
        NonEmptyStr
        | Annotated[list[NonEmptyStr], Field(min_length=1, max_length=2048)]
        | TokenIds
        | Annotated[list[TokenIds], Field(min_length=1, max_length=2048)]
    )
    encoding_format: Literal["float", "base64"] | None = None
    dimensions: Annotated[int, Field(ge=1)] | None = None
    user: str | None = None


class RerankDocument(_Request):
    """A document as Cohere and Jina also take it: an object with its `text`."""

    text: NonEmptyStr


def _document_kind(item: Any) -> str | None:
    if isinstance(item, str):
        return "string document"
    return "object document" if isinstance(item, dict) else None


# The tags have a space so that an error's `param` leaves them out ("documents[2].title").
RerankDocumentItem = Annotated[
    Annotated[NonEmptyStr, Tag("string document")]
    | Annotated[RerankDocument, Tag("object document")],
    Discriminator(
        _document_kind,
        custom_error_type="invalid_document",
        custom_error_message="a document is a string or an object with a 'text' string",
    ),
]

# Documents ranked by one request: each is a pair scored upstream (a slot's work of its own),
# so one request cannot occupy a server for long. Cohere takes as many.
MAX_RERANK_DOCUMENTS = 1000


class RerankRequest(_Request):
    model: NonEmptyStr
    query: NonEmptyStr
    documents: Annotated[
        list[RerankDocumentItem], Field(min_length=1, max_length=MAX_RERANK_DOCUMENTS)
    ]
    top_n: Annotated[int, Field(ge=1)] | None = None
    return_documents: bool = False


# Audio (OpenAI's CreateSpeechRequest): the text is at most 4096 characters, and OpenAI's
# voices are names (a custom voice's {"id"} object is not offered here).
SPEECH_FORMATS = ("mp3", "opus", "aac", "flac", "wav", "pcm")


class SpeechRequest(_Request):
    model: NonEmptyStr
    input: Annotated[str, Field(min_length=1, max_length=4096)]
    voice: NonEmptyStr
    instructions: Annotated[str, Field(max_length=4096)] | None = None
    response_format: Literal["mp3", "opus", "aac", "flac", "wav", "pcm"] = "mp3"
    speed: Annotated[float, Field(ge=0.25, le=4.0)] = 1.0
    stream_format: Literal["sse", "audio"] = "audio"


class TranscriptionRequest(_Request):
    """OpenAI's CreateTranscriptionRequest as far as a transcription server is asked for it
    (a form's text fields, converted: `temperature` a number, `stream` a boolean)."""

    model: NonEmptyStr
    file: Any
    language: Annotated[str, Field(min_length=2, max_length=3, pattern=r"^[a-z]+$")] | None = None
    prompt: str | None = None
    response_format: Literal["json", "text", "srt", "verbose_json", "vtt"] = "json"
    temperature: Annotated[float, Field(ge=0, le=1)] | None = None
    timestamp_granularities: list[Literal["word", "segment"]] | None = None
    include: list[Literal["logprobs"]] | None = None
    stream: bool = False


# The Responses API is translated, not passed through: a field it does not declare would be
# silently lost, so every unknown one is refused (extra="forbid") with a 400 naming it.


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class ResponseTextPart(_Closed):
    type: Literal["input_text", "output_text"]
    text: str
    # What an `output_text` part of an earlier response carries when it is sent back.
    annotations: list[Any] | None = None
    logprobs: list[Any] | None = None


class ResponseMessageItem(_Closed):
    type: Literal["message"] = "message"
    role: Literal["user", "system", "developer", "assistant"]
    content: list[ResponseTextPart] | str
    id: str | None = None
    status: str | None = None


class ResponseFunctionCallItem(_Closed):
    type: Literal["function_call"]
    call_id: NonEmptyStr
    name: NonEmptyStr
    arguments: str  # JSON text
    id: str | None = None
    status: str | None = None


class ResponseFunctionOutputItem(_Closed):
    type: Literal["function_call_output"]
    call_id: NonEmptyStr
    output: str
    id: str | None = None
    status: str | None = None


def _item_kind(item: Any) -> str | None:
    kind = item.get("type", "message") if isinstance(item, dict) else None
    return f"{kind} item" if isinstance(kind, str) else None


# The tags have a space so that an error's `param` leaves them out ("input[2].call_id").
ResponseInputItem = Annotated[
    Annotated[ResponseMessageItem, Tag("message item")]
    | Annotated[ResponseFunctionCallItem, Tag("function_call item")]
    | Annotated[ResponseFunctionOutputItem, Tag("function_call_output item")],
    Discriminator(
        _item_kind,
        custom_error_type="invalid_item",
        custom_error_message="input items are 'message', 'function_call' or 'function_call_output'",
    ),
]


class ResponseFunctionTool(_Closed):
    type: Literal["function"]  # the only kind run here (no hosted tools)
    name: NonEmptyStr
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class ResponseToolChoice(_Closed):
    type: Literal["function"]
    name: NonEmptyStr


class ResponseTextFormat(_Closed):
    type: Literal["text", "json_object", "json_schema"]
    name: str | None = None
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")
    description: str | None = None
    strict: bool | None = None

    @model_validator(mode="after")
    def _schema_has_one(self) -> ResponseTextFormat:
        if self.type == "json_schema" and (self.schema_ is None or not self.name):
            raise PydanticCustomError(
                "json_schema_format", "a json_schema format needs a 'name' and a 'schema'"
            )
        return self


class ResponseText(_Closed):
    format: ResponseTextFormat | None = None


class ResponsesRequest(_Closed):
    model: NonEmptyStr
    # The list first, so a bad item is reported as such rather than as "not a string".
    input: Annotated[list[ResponseInputItem], Field(min_length=1)] | NonEmptyStr
    instructions: str | None = None
    max_output_tokens: Annotated[int, Field(ge=1)] | None = None
    temperature: Temperature | None = None
    top_p: Annotated[float, Field(ge=0, le=1)] | None = None
    text: ResponseText | None = None
    tools: list[ResponseFunctionTool] | None = None
    tool_choice: Literal["none", "auto", "required"] | ResponseToolChoice | None = None
    parallel_tool_calls: bool | None = None
    stream: bool = False
    store: bool = True
    previous_response_id: NonEmptyStr | None = None
    metadata: Annotated[dict[str, str], Field(max_length=16)] | None = None
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
    if error["type"] == "extra_forbidden":
        return invalid_request(
            f"Unrecognized request argument supplied: {param}",
            param=param,
            code="unknown_parameter",
        )
    if error["type"] == "missing":
        return invalid_request(f"Missing required parameter: '{param}'.", param=param)
    value = error.get("input")
    shown = repr(value) if not isinstance(value, (dict, list)) else type(value).__name__
    return invalid_request(
        f"Invalid value for '{param}': {error['msg'].rstrip('.')} (got {shown}).",
        param=param,
        code="invalid_value",
    )
