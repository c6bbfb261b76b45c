"""POST /v1/responses: OpenAI's Responses API, translated to a chat completion.

The request becomes the chat request it means (instructions as a system turn, input items
as turns, function tools as chat tools, `text.format` as `response_format`) and goes
through the chat pipeline unchanged: the same hold, tool-call constraint, usage record and
settlement. The billed chat completion is then presented as a response object; with
`stream` its text is sent as the typed events of the Responses stream while it is generated
(a constrained tool call is built whole, then sent as its events).

With `store` (the default) the response is kept for its organisation: retrieved and deleted
by id, and continued with `previous_response_id`, whose input items and output are put
before the new input (its instructions are not inherited, as at OpenAI).
"""

from __future__ import annotations

import dataclasses
import secrets
import time
import uuid
from collections.abc import AsyncGenerator, Iterable, Iterator
from typing import TYPE_CHECKING, Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from gptapi.gateway import errors
from gptapi.gateway.catalog import CatalogModel
from gptapi.gateway.openai.chat import ChatSurface
from gptapi.gateway.openai.failures import stream_error
from gptapi.gateway.openai.plan import Plan, resolve_max_tokens
from gptapi.gateway.openai.protocol import (
    ResponseMessageItem,
    ResponsesRequest,
    ResponseToolChoice,
    parse,
)
from gptapi.gateway.openai.response_store import ResponseStore
from gptapi.gateway.streaming import EventStreamResponse

if TYPE_CHECKING:
    from gptapi.gateway.openai.serving import OpenAIServing

_CHAT = ChatSurface()


class ResponsesSurface:
    endpoint = "responses"
    path = "/v1/chat/completions"
    kind = "chat"

    def __init__(self, store: ResponseStore) -> None:
        self.store = store

    async def prepare(self, body: dict[str, Any], organization_id: uuid.UUID) -> dict[str, Any]:
        if body.get("previous_response_id") is None:
            return body  # nothing to add: `plan` judges the request (one parse, not two)
        # The client's own fields are judged before earlier turns join them, so an error
        # names them as sent.
        request = parse(ResponsesRequest, body)
        assert request.previous_response_id is not None
        previous = await self.store.get(organization_id, request.previous_response_id)
        if previous is None:
            raise errors.OpenAIError(
                404,
                f"Previous response with id '{request.previous_response_id}' not found.",
                param="previous_response_id",
                code="previous_response_not_found",
            )
        earlier = [*previous.history, *previous.response["output"]]
        return {**body, "input": earlier + input_items(body["input"])}

    def plan(
        self, body: dict[str, Any], model: CatalogModel, *, body_size: int, output_cap: int
    ) -> Plan:
        request = parse(ResponsesRequest, body)
        max_tokens = resolve_max_tokens(request.max_output_tokens, output_cap, "max_output_tokens")
        chat = chat_request(request, max_tokens)
        plan = _CHAT.plan(chat, model, body_size=body_size, output_cap=output_cap)
        presenter = Presenter(request, input_items(body["input"]), self.store)
        if plan.stream and plan.tools is None:
            # Text streams as it is generated; a constrained tool call (never streamed
            # upstream) is sent once whole.
            return dataclasses.replace(
                plan,
                endpoint=self.endpoint,
                include_usage=False,
                translate=LiveEvents(presenter, request.model),
            )
        return dataclasses.replace(
            plan, endpoint=self.endpoint, include_usage=False, present=presenter.present
        )


def chat_request(request: ResponsesRequest, max_tokens: int) -> dict[str, Any]:
    """The chat completion request a Responses request means."""
    chat: dict[str, Any] = {
        "model": request.model,
        "messages": _messages(request),
        "max_tokens": max_tokens,
        "stream": request.stream,
    }
    for name in ("temperature", "top_p", "parallel_tool_calls", "user"):
        value = getattr(request, name)
        if value is not None:
            chat[name] = value
    if request.tools:
        chat["tools"] = [
            {
                "type": "function",
                "function": tool.model_dump(exclude={"type"}, exclude_none=True),
            }
            for tool in request.tools
        ]
    choice = request.tool_choice
    if isinstance(choice, ResponseToolChoice):
        chat["tool_choice"] = {"type": "function", "function": {"name": choice.name}}
    elif choice is not None:
        chat["tool_choice"] = choice
    text_format = request.text.format if request.text else None
    if text_format is not None and text_format.type == "json_object":
        chat["response_format"] = {"type": "json_object"}
    elif text_format is not None and text_format.type == "json_schema":
        schema: dict[str, Any] = {"name": text_format.name, "schema": text_format.schema_}
        if text_format.strict is not None:
            schema["strict"] = text_format.strict
        chat["response_format"] = {"type": "json_schema", "json_schema": schema}
    return chat


def _messages(request: ResponsesRequest) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    if request.instructions:
        messages.append({"role": "system", "content": request.instructions})
    if isinstance(request.input, str):
        messages.append({"role": "user", "content": request.input})
        return messages
    for item in request.input:
        if isinstance(item, ResponseMessageItem):
            content = item.content
            text = content if isinstance(content, str) else "".join(p.text for p in content)
            messages.append({"role": item.role, "content": text})
        elif item.type == "function_call":
            call = {
                "id": item.call_id,
                "type": "function",
                "function": {"name": item.name, "arguments": item.arguments},
            }
            last = messages[-1] if messages else None
            # Calls made in one turn are one assistant message, as chat has them.
            if last and last["role"] == "assistant" and last.get("tool_calls"):
                last["tool_calls"].append(call)
            else:
                messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
        else:
            messages.append({"role": "tool", "tool_call_id": item.call_id, "content": item.output})
    return messages


class Presenter:
    """Turns the billed chat completion into the response object, or its event stream."""

    def __init__(
        self, request: ResponsesRequest, history: list[dict[str, Any]], store: ResponseStore
    ) -> None:
        self.request = request
        self.history = history  # the input items, earlier turns included
        self.store = store
        # Fixed per request: a live stream names them before the response is complete.
        self.id = "resp_" + secrets.token_hex(24)
        self.message_id = "msg_" + secrets.token_hex(24)

    async def present(
        self, data: dict[str, Any], organization_id: uuid.UUID, headers: dict[str, str]
    ) -> Response:
        response = await self.kept(data, organization_id)
        if self.request.stream:
            return EventStreamResponse(_sse(events(response)), headers)
        return Response(orjson.dumps(response), 200, headers, "application/json")

    async def kept(self, data: dict[str, Any], organization_id: uuid.UUID) -> dict[str, Any]:
        """The response object, stored for the organisation if the request asked."""
        response = self.response(data)
        if self.request.store:
            await self.store.add(organization_id, self.history, response)
        return response

    def response(self, data: dict[str, Any]) -> dict[str, Any]:
        request = self.request
        choice = (data.get("choices") or [{}])[0]
        message = choice.get("message") or {}
        output: list[dict[str, Any]] = []
        if message.get("content"):
            output.append(
                {
                    "type": "message",
                    "id": self.message_id,
                    "status": "completed",
                    "role": "assistant",
                    "content": [
                        {"type": "output_text", "text": message["content"], "annotations": []}
                    ],
                }
            )
        for call in message.get("tool_calls") or ():
            output.append(
                {
                    "type": "function_call",
                    "id": "fc_" + secrets.token_hex(24),
                    "call_id": call["id"],
                    "name": call["function"]["name"],
                    "arguments": call["function"]["arguments"],
                    "status": "completed",
                }
            )
        cut = choice.get("finish_reason") == "length"
        text_format = request.text.format if request.text else None
        tool_choice = request.tool_choice
        return {
            "id": self.id,
            "object": "response",
            "created_at": data.get("created"),
            "status": "incomplete" if cut else "completed",
            "error": None,
            "incomplete_details": {"reason": "max_output_tokens"} if cut else None,
            "instructions": request.instructions,
            "max_output_tokens": request.max_output_tokens,
            "model": data.get("model"),
            "output": output,
            "parallel_tool_calls": request.parallel_tool_calls is not False,
            "previous_response_id": request.previous_response_id,
            "reasoning": {"effort": None, "summary": None},
            "store": request.store,
            "temperature": request.temperature if request.temperature is not None else 1.0,
            "text": {
                "format": text_format.model_dump(by_alias=True, exclude_none=True)
                if text_format
                else {"type": "text"}
            },
            "tool_choice": tool_choice.model_dump()
            if isinstance(tool_choice, ResponseToolChoice)
            else (tool_choice or "auto"),
            "tools": [tool.model_dump() for tool in request.tools or ()],
            "top_p": request.top_p if request.top_p is not None else 1.0,
            "truncation": "disabled",
            "usage": _usage(data.get("usage") or {}),
            "user": request.user,
            "metadata": request.metadata or {},
        }


def input_items(value: Any) -> list[dict[str, Any]]:
    """A validated `input` as a list of items (a string is one user message)."""
    return [{"role": "user", "content": value}] if isinstance(value, str) else list(value)


def _usage(chat: dict[str, Any]) -> dict[str, Any]:
    """Chat's usage under the Responses names, with the same cost fields."""
    prompt = chat.get("prompt_tokens", 0)
    completion = chat.get("completion_tokens", 0)
    cached = (chat.get("prompt_tokens_details") or {}).get("cached_tokens", 0)
    renamed = ("prompt_tokens", "completion_tokens", "total_tokens", "prompt_tokens_details")
    usage = {
        "input_tokens": prompt,
        "input_tokens_details": {"cached_tokens": cached},
        "output_tokens": completion,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": chat.get("total_tokens", prompt + completion),
    }
    usage.update({k: v for k, v in chat.items() if k not in renamed})
    return usage


def _opening(response: dict[str, Any]) -> Iterator[dict[str, Any]]:
    started = {**response, "status": "in_progress", "output": [], "usage": None}
    started["incomplete_details"] = None
    yield {"type": "response.created", "response": started}
    yield {"type": "response.in_progress", "response": started}


def _message_opening(message_id: str, index: int) -> Iterator[dict[str, Any]]:
    item: dict[str, Any] = {"type": "message", "id": message_id, "status": "in_progress"}
    item |= {"role": "assistant", "content": []}
    yield {"type": "response.output_item.added", "output_index": index, "item": item}
    where = {"item_id": message_id, "output_index": index, "content_index": 0}
    empty = {"type": "output_text", "text": "", "annotations": []}
    yield {"type": "response.content_part.added", **where, "part": empty}


def _text_delta(message_id: str, index: int, text: str) -> dict[str, Any]:
    where = {"item_id": message_id, "output_index": index, "content_index": 0}
    return {"type": "response.output_text.delta", **where, "delta": text, "logprobs": []}


def _message_closing(item: dict[str, Any], index: int) -> Iterator[dict[str, Any]]:
    [part] = item["content"]
    where = {"item_id": item["id"], "output_index": index, "content_index": 0}
    yield {"type": "response.output_text.done", **where, "text": part["text"], "logprobs": []}
    yield {"type": "response.content_part.done", **where, "part": part}


def _ending(response: dict[str, Any]) -> dict[str, Any]:
    final = "response.completed" if response["status"] == "completed" else "response.incomplete"
    return {"type": final, "response": response}


def events(response: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """A finished response as the typed events OpenAI streams for it, in their order."""
    yield from _opening(response)
    for index, item in enumerate(response["output"]):
        at = {"item_id": item["id"], "output_index": index}
        if item["type"] == "message":
            yield from _message_opening(item["id"], index)
            yield _text_delta(item["id"], index, item["content"][0]["text"])
            yield from _message_closing(item, index)
        else:
            yield {
                "type": "response.output_item.added",
                "output_index": index,
                "item": {**item, "status": "in_progress", "arguments": ""},
            }
            arguments = item["arguments"]
            yield {"type": "response.function_call_arguments.delta", **at, "delta": arguments}
            yield {
                "type": "response.function_call_arguments.done",
                **at,
                "name": item["name"],
                "arguments": arguments,
            }
        yield {"type": "response.output_item.done", "output_index": index, "item": item}
    yield _ending(response)


def _named(payload: dict[str, Any], number: int) -> bytes:
    # Named events, numbered, as OpenAI sends them; the Responses stream has no [DONE].
    payload["sequence_number"] = number
    kind: str = payload["type"]
    return b"event: " + kind.encode() + b"\ndata: " + orjson.dumps(payload) + b"\n\n"


async def _sse(stream: Iterator[dict[str, Any]]) -> AsyncGenerator[bytes, None]:
    for number, payload in enumerate(stream):
        yield _named(payload, number)


class LiveEvents:
    """A streamed chat completion sent as the Responses stream while it is generated: the
    text as `response.output_text.delta` events, then the finished, billed (and stored)
    response; a failure midway is `response.failed`."""

    def __init__(self, presenter: Presenter, model: str) -> None:
        self.presenter = presenter
        self.model = model
        self.created = int(time.time())
        self.sent = 0
        self.text: list[str] = []
        self.finish_reason: str | None = None

    def _send(self, payloads: Iterable[dict[str, Any]]) -> list[bytes]:
        out = []
        for payload in payloads:
            out.append(_named(payload, self.sent))
            self.sent += 1
        return out

    def _chat(self, usage: dict[str, Any] | None) -> dict[str, Any]:
        """What the stream amounts to, as the chat completion `Presenter.response` reads."""
        message = {"role": "assistant", "content": "".join(self.text)}
        choice = {"index": 0, "message": message, "finish_reason": self.finish_reason}
        return {"created": self.created, "model": self.model, "choices": [choice], "usage": usage}

    def _opened(self) -> list[dict[str, Any]]:
        if self.sent:
            return []
        # The output item is announced up front: the stream is text (tools go whole).
        return [
            *_opening(self.presenter.response(self._chat(None))),
            *_message_opening(self.presenter.message_id, 0),
        ]

    def chunk(self, chunk: dict[str, Any]) -> list[bytes]:
        payloads = self._opened()
        for choice in chunk.get("choices") or ():
            self.finish_reason = choice.get("finish_reason") or self.finish_reason
            text = (choice.get("delta") or {}).get("content")
            if text:
                self.text.append(text)
                payloads.append(_text_delta(self.presenter.message_id, 0, text))
        return self._send(payloads)

    async def finish(self, usage: dict[str, Any], organization_id: uuid.UUID) -> list[bytes]:
        payloads = self._opened()
        response = await self.presenter.kept(self._chat(usage), organization_id)
        # Always one message, as announced (empty if the model said nothing).
        message = next((i for i in response["output"] if i["type"] == "message"), None)
        if message is None:
            message = {
                "type": "message",
                "id": self.presenter.message_id,
                "status": "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "text": "", "annotations": []}],
            }
            response["output"] = [message]
        payloads += _message_closing(message, 0)
        payloads.append({"type": "response.output_item.done", "output_index": 0, "item": message})
        payloads.append(_ending(response))
        return self._send(payloads)

    def failed(self, outcome: str, error: dict[str, Any] | None) -> list[bytes]:
        payloads = self._opened()
        response = self.presenter.response(self._chat(None))
        detail = stream_error(outcome, error)["error"]
        response |= {
            "status": "failed",
            "incomplete_details": None,
            "error": {"code": "server_error", "message": detail["message"]},
        }
        payloads.append({"type": "response.failed", "response": response})
        return self._send(payloads)


def _serving(request: Request) -> OpenAIServing:
    serving: OpenAIServing = request.app.state.serving
    return serving


async def retrieve_response(request: Request) -> Response:
    serving = _serving(request)
    context = await serving.authenticate(request)
    response_id: str = request.path_params["response_id"]
    stored = await serving.responses.get(context.organization_id, response_id)
    if stored is None:
        raise _not_found(response_id)
    return Response(orjson.dumps(stored.response), media_type="application/json")


async def delete_response(request: Request) -> Response:
    serving = _serving(request)
    context = await serving.authenticate(request)
    response_id: str = request.path_params["response_id"]
    if not await serving.responses.delete(context.organization_id, response_id):
        raise _not_found(response_id)
    body = {"id": response_id, "object": "response", "deleted": True}
    return Response(orjson.dumps(body), media_type="application/json")


def _not_found(response_id: str) -> errors.OpenAIError:
    # Another organisation's response is not found either: its existence is not told.
    return errors.OpenAIError(
        404, f"No response found with id '{response_id}'.", param="response_id"
    )


response_routes: list[BaseRoute] = [
    Route("/v1/responses/{response_id}", retrieve_response, methods=["GET"]),
    Route("/v1/responses/{response_id}", delete_response, methods=["DELETE"]),
]
