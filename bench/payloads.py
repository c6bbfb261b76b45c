"""The bodies on the wire: a realistic chat request, and the chat.completion a llama-server
answers it with (usage and llama.cpp's `timings` included, as the gateway sees them)."""

from __future__ import annotations

from typing import Any

import orjson

MODEL = "gpt-fast"  # pool served by nginx (static answers)
STREAM_MODEL = "gpt-full"  # pool served by the real llama.cpp server

CHAT_REQUEST: dict[str, Any] = {
    "model": MODEL,
    "messages": [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "Hello! Can you tell me a fun fact about octopuses?"},
    ],
    "max_tokens": 64,
    "temperature": 0.7,
}

# The same conversation through the Responses API: the gateway plans it as the chat request
# above and translates the upstream's chat.completion back. Not stored, so both do the same
# database work (one usage row).
RESPONSES_REQUEST: dict[str, Any] = {
    "model": MODEL,
    "instructions": "You are a helpful assistant.",
    "input": "Hello! Can you tell me a fun fact about octopuses?",
    "max_output_tokens": 64,
    "temperature": 0.7,
    "store": False,
}

# The chat request with a tool the model may call ("auto"): what the gateway's tool handling
# costs when the model answers in text, as the static upstream does.
TOOLS_REQUEST: dict[str, Any] = CHAT_REQUEST | {
    "tools": [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "The weather in a city.",
                "parameters": {
                    "type": "object",
                    "properties": {"city": {"type": "string"}},
                    "required": ["city"],
                },
            },
        }
    ],
    "tool_choice": "auto",
}

CHAT_COMPLETION: dict[str, Any] = {
    "choices": [
        {
            "finish_reason": "stop",
            "index": 0,
            "message": {
                "role": "assistant",
                "content": (
                    "Sure! Octopuses have three hearts: two pump blood through the gills, "
                    "and one pumps it through the rest of the body."
                ),
            },
        }
    ],
    "created": 1732204800,
    "model": MODEL,
    "system_fingerprint": "b4120-1bacb9f6",
    "object": "chat.completion",
    "usage": {"completion_tokens": 29, "prompt_tokens": 38, "total_tokens": 67},
    "id": "chatcmpl-Xq3mF8d2rL0vN6pK1sT9wY4zA7bC5eH",
    "timings": {
        "prompt_n": 38,
        "prompt_ms": 14.2,
        "prompt_per_token_ms": 0.37,
        "prompt_per_second": 2676.1,
        "predicted_n": 29,
        "predicted_ms": 141.8,
        "predicted_per_token_ms": 4.89,
        "predicted_per_second": 204.5,
    },
}

PROPS: dict[str, Any] = {
    "default_generation_settings": {"n_ctx": 8192, "params": {"n_predict": -1}},
    "total_slots": 512,
    "model_path": "/models/static.gguf",
    "chat_template": "",
    "build_info": "static nginx upstream for the benchmark",
}

HEALTH: dict[str, Any] = {"status": "ok"}
# llama-server's token counting, used by the gateway to bill requests cut off by the client
INPUT_TOKENS: dict[str, Any] = {"input_tokens": 38}
TOKENIZE: dict[str, Any] = {"tokens": [9690, 28, 1073, 359, 253, 5356]}


def compact(obj: Any) -> bytes:
    return orjson.dumps(obj)


def stream_request(max_tokens: int) -> dict[str, Any]:
    return {
        "model": STREAM_MODEL,
        "messages": [
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": "Write a short story about a lighthouse keeper."},
        ],
        "max_tokens": max_tokens,
        "temperature": 0.0,
        "seed": 42,  # greedy, and the story is longer than max_tokens: exactly max_tokens
        "stream": True,
        "stream_options": {"include_usage": True},
    }
