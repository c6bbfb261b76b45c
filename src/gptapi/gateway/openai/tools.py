"""Tool calls that work on every model: the gateway constrains the output itself.

A model's chat template may know nothing of tools (the embedded SmolLM2's does not), and
llama-server does not enforce `tool_choice` on every build. So with `tools` and a
`tool_choice` other than `none`, the request goes upstream without them:

- the functions and the expected answer are described in a system message;
- earlier tool calls and tool results are rendered as ordinary assistant and user turns;
- the answer is constrained with `response_format` JSON schema (llama-server turns it into
  a grammar): `{"name": …, "arguments": {…}}` of one of the allowed functions, or, for
  `auto`, `{"content": "…"}` as well;
- the constrained answer comes back as OpenAI `tool_calls` (or plain content), and a
  streamed request is answered as the chunks OpenAI would send (`delta.tool_calls`).

One call is made per turn: `parallel_tool_calls` true permits several, false at most one,
so both are honoured. Billing is the chat request's: the tokens upstream reports.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import orjson

from gptapi.gateway.errors import invalid_request
from gptapi.gateway.openai.protocol import ChatCompletionRequest, ChatMessage, Tool

# A function declared without parameters takes none: an empty, closed object (an open one
# would let the model fill it with anything).
NO_PARAMETERS: dict[str, Any] = {"type": "object", "properties": {}, "additionalProperties": False}
TEXT_ANSWER: dict[str, Any] = {
    "type": "object",
    "properties": {"content": {"type": "string"}},
    "required": ["content"],
    "additionalProperties": False,
}
TOOL_FIELDS = ("tools", "tool_choice", "parallel_tool_calls")


@dataclass(frozen=True, slots=True)
class ToolCalling:
    """How a request's answer is constrained, and how it is turned back into OpenAI's."""

    mode: Literal["auto", "required"]
    names: tuple[str, ...]  # the functions the answer may call

    def answer(self, data: dict[str, Any]) -> dict[str, Any]:
        """An upstream chat completion with its constrained answers made OpenAI's."""
        data["choices"] = [self._choice(choice) for choice in data.get("choices") or ()]
        return data

    def _choice(self, choice: dict[str, Any]) -> dict[str, Any]:
        message = dict(choice.get("message") or {})
        parsed = _parse(message.get("content"))
        if isinstance(parsed, dict) and parsed.get("name") in self.names:
            arguments = parsed.get("arguments")
            message["content"] = None
            message["tool_calls"] = [
                {
                    "id": "call_" + secrets.token_hex(12),
                    "type": "function",
                    "function": {
                        "name": parsed["name"],
                        "arguments": orjson.dumps(
                            arguments if arguments is not None else {}
                        ).decode(),
                    },
                }
            ]
            return {**choice, "message": message, "finish_reason": "tool_calls"}
        if parsed is None and self.mode == "auto":
            parsed = _cut_short_text(message.get("content"))
        if isinstance(parsed, dict) and isinstance(parsed.get("content"), str):
            message["content"] = parsed["content"]
        # Anything else is a call cut short (finish_reason "length"): the text as it came.
        return {**choice, "message": message}

    def chunks(self, data: dict[str, Any], include_usage: bool) -> Iterator[dict[str, Any]]:
        """A finished (converted) completion as the stream of chunks OpenAI sends for it."""
        head = {
            "id": data.get("id"),
            "object": "chat.completion.chunk",
            "created": data.get("created"),
            "model": data.get("model"),
            "system_fingerprint": data.get("system_fingerprint"),
        }
        usage: dict[str, Any] = {"usage": None} if include_usage else {}
        for choice in data.get("choices") or ():
            index = choice.get("index", 0)
            message = choice.get("message") or {}
            calls = message.get("tool_calls") or []
            first: dict[str, Any] = {"role": "assistant", "content": None if calls else ""}
            if calls:
                first["tool_calls"] = [
                    {
                        "index": position,
                        "id": call["id"],
                        "type": "function",
                        "function": {"name": call["function"]["name"], "arguments": ""},
                    }
                    for position, call in enumerate(calls)
                ]
            deltas = [first]
            deltas += [
                {
                    "tool_calls": [
                        {
                            "index": position,
                            "function": {"arguments": call["function"]["arguments"]},
                        }
                    ]
                }
                for position, call in enumerate(calls)
            ]
            if message.get("content"):
                deltas.append({"content": message["content"]})
            for delta in deltas:
                yield {**head, "choices": [_chunk_choice(index, delta, None)], **usage}
            yield {
                **head,
                "choices": [_chunk_choice(index, {}, choice.get("finish_reason"))],
                **usage,
            }
        if include_usage:
            yield {**head, "choices": [], "usage": data.get("usage")}


def _chunk_choice(index: int, delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
    return {"index": index, "delta": delta, "logprobs": None, "finish_reason": finish}


def _cut_short_text(content: object) -> object:
    """A text answer that ran out of tokens mid-string, `{"content": "Once upon`: what it
    said so far."""
    if not isinstance(content, str) or '"content"' not in content:
        return None
    for ending in ('"}', "}"):
        parsed = _parse(content + ending)
        if parsed is not None:
            return parsed
    return None


def _parse(content: object) -> object:
    if not isinstance(content, str):
        return None
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError:
        return None


def constrain(
    request: ChatCompletionRequest, payload: dict[str, Any]
) -> tuple[dict[str, Any], ToolCalling | None]:
    """The upstream payload for a request that declares tools or carries tool turns, and
    how its answer is read back (None when no call may be made)."""
    calling = _calling(request)
    has_tool_turns = any(m.role in ("tool", "function") or m.tool_calls for m in request.messages)
    if calling is None and not has_tool_turns and not request.tools:
        return payload, None
    payload = {k: v for k, v in payload.items() if k not in TOOL_FIELDS}
    called = {
        call.id: call.function.name
        for message in request.messages
        for call in message.tool_calls or ()
        if call.id
    }
    messages = [
        _render(message, sent, called)
        for message, sent in zip(request.messages, payload["messages"], strict=True)
    ]
    if calling is not None:
        tools = [t for t in request.tools or () if t.function.name in calling.names]
        messages = _with_instructions(messages, tools, calling)
        payload["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": "answer", "schema": _answer_schema(tools, calling)},
        }
        payload["stream"] = False
        payload.pop("stream_options", None)
    payload["messages"] = messages
    return payload, calling


def _calling(request: ChatCompletionRequest) -> ToolCalling | None:
    choice = request.tool_choice
    if not request.tools:
        if choice not in (None, "none"):
            raise invalid_request(
                "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' "
                "are specified.",
                param="tool_choice",
            )
        return None
    names = tuple(tool.function.name for tool in request.tools)
    if len(set(names)) != len(names):
        raise invalid_request("Function names in 'tools' must be unique.", param="tools")
    if choice == "none":
        return None
    if request.response_format is not None and request.response_format.get("type") != "text":
        raise invalid_request(
            "'response_format' cannot be combined with 'tools' unless 'tool_choice' is "
            "'none': the answer is either a tool call or the requested format.",
            param="response_format",
            code="unsupported_parameter",
        )
    if choice is None or choice == "auto":
        return ToolCalling("auto", names)
    if choice == "required":
        return ToolCalling("required", names)
    if isinstance(choice, dict):
        function = choice.get("function")
        name = function.get("name") if isinstance(function, dict) else None
        if choice.get("type") != "function" or not isinstance(name, str):
            raise invalid_request(
                "Invalid value for 'tool_choice': expected 'none', 'auto', 'required' or "
                '{"type": "function", "function": {"name": …}}.',
                param="tool_choice",
                code="invalid_value",
            )
        if name not in names:
            raise invalid_request(
                f"Invalid value for 'tool_choice': no function named '{name}' in 'tools'.",
                param="tool_choice",
                code="invalid_value",
            )
        return ToolCalling("required", (name,))
    raise invalid_request(
        f"Invalid value for 'tool_choice': {choice!r}. Supported values are: 'none', 'auto', "
        "'required' and a named function.",
        param="tool_choice",
        code="invalid_value",
    )


def _render(message: ChatMessage, sent: dict[str, Any], called: dict[str, str]) -> dict[str, Any]:
    """A message as a template without tool support can take: tool calls as the JSON the
    model is asked to write, tool results as user turns that name the function answered."""
    if message.tool_calls:
        calls = [
            {"name": call.function.name, "arguments": _parse(call.function.arguments)}
            for call in message.tool_calls
        ]
        lines = [_text(message), *(orjson.dumps(call).decode() for call in calls)]
        return {"role": "assistant", "content": "\n".join(line for line in lines if line)}
    if message.role in ("tool", "function"):
        name = message.name or called.get(message.tool_call_id or "") or "the function"
        return {"role": "user", "content": f"Result of {name}:\n{_text(message)}"}
    return sent


def _text(message: ChatMessage) -> str:
    if isinstance(message.content, list):
        return "".join(part.text or "" for part in message.content)
    return message.content or ""


def _with_instructions(
    messages: list[dict[str, Any]], tools: list[Tool], calling: ToolCalling
) -> list[dict[str, Any]]:
    lines = ["You can call these functions:"]
    for tool in tools:
        described = {
            "name": tool.function.name,
            "description": tool.function.description or "",
            "parameters": tool.function.parameters or NO_PARAMETERS,
        }
        lines.append(orjson.dumps(described).decode())
    lines.append(
        'To call a function, reply with a JSON object {"name": <function name>, '
        '"arguments": <arguments object>}.'
    )
    if calling.mode == "auto":
        lines.append('If no function is needed, reply with {"content": <your answer>} instead.')
    elif len(calling.names) == 1:
        lines.append(f"You must call the function {calling.names[0]}.")
    else:
        lines.append("You must call one of the functions.")
    instructions = "\n".join(lines)
    if messages and messages[0].get("role") in ("system", "developer"):
        first = messages[0]
        text = first.get("content")
        if isinstance(text, list):
            text = "".join(part.get("text") or "" for part in text)
        return [{"role": "system", "content": f"{text}\n\n{instructions}"}, *messages[1:]]
    return [{"role": "system", "content": instructions}, *messages]


def _answer_schema(tools: list[Tool], calling: ToolCalling) -> dict[str, Any]:
    options = [
        {
            "type": "object",
            "properties": {
                "name": {"const": tool.function.name},
                "arguments": tool.function.parameters or NO_PARAMETERS,
            },
            "required": ["name", "arguments"],
            "additionalProperties": False,
        }
        for tool in tools
    ]
    if calling.mode == "auto":
        options.append(TEXT_ANSWER)
    return options[0] if len(options) == 1 else {"anyOf": options}
