"""One conformance scenario per run: `python frameworks.py <scenario>`, against
GPTAPI_BASE_URL (the /v1 base) with GPTAPI_KEY, in the frameworks' own environment (see
requirements.txt). LangChain (`langchain-openai`) and LlamaIndex (`OpenAILike`,
`OpenAIEmbedding`) are used as their documentation shows for an OpenAI-compatible server;
a scenario raises when the platform answers anything they would not accept."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any, Literal

from langchain_core.messages import HumanMessage, ToolMessage
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI, OpenAIEmbeddings
from llama_index.core.llms import ChatMessage
from llama_index.core.prompts import PromptTemplate
from llama_index.core.tools import FunctionTool
from llama_index.embeddings.openai import OpenAIEmbedding
from llama_index.llms.openai_like import OpenAILike
from pydantic import BaseModel

BASE_URL = os.environ["GPTAPI_BASE_URL"]
KEY = os.environ["GPTAPI_KEY"]
SCENARIOS: dict[str, Callable[[], None]] = {}


def scenario(run: Callable[[], None]) -> Callable[[], None]:
    SCENARIOS[run.__name__.replace("_", "-")] = run
    return run


class Colour(BaseModel):
    # A closed set: the grammar ends the object within a few tokens, where a free string
    # lets a small model ramble past the token limit.
    colour: Literal["red", "green", "blue", "yellow"]


def weather(city: str) -> str:
    """The weather in a city."""
    return f"Sunny and 21 degrees in {city}."


get_weather = tool("get_weather")(weather)


def _chat(**kwargs: Any) -> ChatOpenAI:
    return ChatOpenAI(model="gpt-fast", base_url=BASE_URL, api_key=KEY, max_retries=0, **kwargs)


@scenario
def langchain_invoke_and_stream() -> None:
    for responses in (False, True):
        model = _chat(max_tokens=12, use_responses_api=responses)
        assert model.invoke("Say hello.").text
        assert "".join(chunk.text for chunk in model.stream("Say hello."))


@scenario
def langchain_bind_tools_multi_turn() -> None:
    for responses in (False, True):
        model = _chat(max_tokens=64, use_responses_api=responses)
        question = HumanMessage("What is the weather in Paris?")
        reply = model.bind_tools([get_weather], tool_choice="get_weather").invoke([question])
        [call] = reply.tool_calls
        assert call["name"] == "get_weather" and isinstance(call["args"]["city"], str)
        result = ToolMessage(get_weather.invoke(call["args"]), tool_call_id=call["id"])
        answer = model.bind_tools([get_weather], tool_choice="none").invoke(
            [question, reply, result]
        )
        assert answer.text and not answer.tool_calls


@scenario
def langchain_streamed_tool_call() -> None:
    model = _chat(max_tokens=64).bind_tools([get_weather], tool_choice="any")
    merged: Any = None
    for chunk in model.stream("What is the weather in Paris?"):
        merged = chunk if merged is None else merged + chunk
    assert merged is not None and merged.tool_calls[0]["name"] == "get_weather"


@scenario
def langchain_structured_output() -> None:
    for method in ("json_schema", "function_calling"):
        model = _chat(max_tokens=48, temperature=0).with_structured_output(Colour, method=method)
        answer = model.invoke("Name a colour.")
        assert isinstance(answer, Colour) and answer.colour


@scenario
def langchain_embeddings_dimensions() -> None:
    embeddings = OpenAIEmbeddings(
        model="embed",
        base_url=BASE_URL,
        api_key=KEY,
        dimensions=24,
        # Token counting with tiktoken is for OpenAI's own models; send the text as it is.
        check_embedding_ctx_length=False,
    )
    vectors = embeddings.embed_documents(["hello", "world"])
    assert [len(v) for v in vectors] == [24, 24]
    assert len(embeddings.embed_query("hello")) == 24


def _llm() -> OpenAILike:
    return OpenAILike(
        model="gpt-fast",
        api_base=BASE_URL,
        api_key=KEY,
        is_chat_model=True,
        is_function_calling_model=True,
        context_window=2048,
        max_tokens=48,
        max_retries=0,
    )


@scenario
def llamaindex_chat_and_stream() -> None:
    llm = _llm()
    messages = [ChatMessage(role="user", content="Say hello.")]
    assert llm.chat(messages).message.content
    assert "".join(chunk.delta or "" for chunk in llm.stream_chat(messages))
    assert llm.complete("Once upon a time").text


@scenario
def llamaindex_structured_predict_and_tools() -> None:
    llm = _llm()
    colour = llm.structured_predict(Colour, PromptTemplate("Name a colour."))
    assert isinstance(colour, Colour) and colour.colour
    tool_ = FunctionTool.from_defaults(fn=weather, name="get_weather")
    response = llm.chat_with_tools(
        [tool_], user_msg="What is the weather in Paris?", tool_required=True
    )
    [selection] = llm.get_tool_calls_from_response(response)
    assert selection.tool_name == "get_weather" and isinstance(selection.tool_kwargs["city"], str)


@scenario
def llamaindex_embeddings_dimensions() -> None:
    embedding = OpenAIEmbedding(
        model_name="embed", api_base=BASE_URL, api_key=KEY, dimensions=24, max_retries=0
    )
    assert len(embedding.get_text_embedding("hello")) == 24


if __name__ == "__main__":
    SCENARIOS[sys.argv[1]]()
    print(f"{sys.argv[1]}: ok")
