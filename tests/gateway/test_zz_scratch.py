import httpx
from gptapi.inference.launcher import LocalFleet

def test_probe(llama_fleet: LocalFleet) -> None:
    chat, emb = (s.base_url for s in llama_fleet.servers)
    c = httpx.Client(timeout=60)
    for b in [
        {"model": "gpt-fast", "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "http://x/y.png"}}]}], "max_tokens": 2},
        {"model": "gpt-fast", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 2, "tools": [{"x": 1}]},
        {"model": "gpt-fast", "messages": [{"role": "user", "content": "hi", "name": 5}], "max_tokens": 2},
        {"model": "gpt-fast", "messages": [{"role": "user", "content": [{"type": "text"}]}], "max_tokens": 2},
        {"model": "gpt-fast", "messages": [{"role": "user", "content": [{"type": "text", "text": 5}]}], "max_tokens": 2},
        {"model": "gpt-fast", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 2, "tools": [{"type": "function", "function": {"name": "f", "parameters": "bad"}}]},
        {"model": "gpt-fast", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 2, "tools": [{"type": "function", "function": {"parameters": {}}}]},
        {"model": "gpt-fast", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 2, "tool_choice": {"type": "function"}},
        {"model": "gpt-fast", "messages": [{"role": "assistant", "content": "x", "tool_calls": [{"bad": 1}]}], "max_tokens": 2},
        {"model": "gpt-fast", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 2, "logit_bias": {"abc": 1}},
        {"model": "gpt-fast", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 2, "response_format": {"type": "json_schema"}},
        {"model": "gpt-fast", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 2, "stop": "x", "n_probs": "a"},
    ]:
        r = c.post(chat + "/v1/chat/completions", json=b)
        print("chat", r.status_code, r.text[:300])
    r = c.post(emb + "/v1/embeddings", json={"model": "embed", "input": "x" * 30000})
    print("long emb", r.status_code, r.text[:400])
    r = c.post(emb + "/v1/embeddings", json={"model": "embed", "input": "hello " * 3000})
    print("long emb2", r.status_code, r.text[:400])
    r = c.get(chat + "/props")
    print(r.json().get("total_slots"), r.json().get("default_generation_settings", {}).get("n_ctx"))
