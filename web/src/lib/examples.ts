import type { Example } from "@/components/CodeTabs";

const KEY = "$GPTAPI_KEY";

export function chatExample(base: string, stream = false): Example {
  const s = stream ? ', "stream": true' : "";
  return {
    curl: `curl ${base}/v1/chat/completions \\
  -H "Authorization: Bearer ${KEY}" \\
  -H "Content-Type: application/json" \\
  -d '{"model": "gpt-fast", "messages": [{"role": "user", "content": "Hello!"}]${s}}'`,
    python: stream
      ? `from openai import OpenAI

client = OpenAI(base_url="${base}/v1", api_key=os.environ["GPTAPI_KEY"])
stream = client.chat.completions.create(
    model="gpt-fast",
    messages=[{"role": "user", "content": "Hello!"}],
    stream=True,
)
for chunk in stream:
    print(chunk.choices[0].delta.content or "", end="")`
      : `from openai import OpenAI

client = OpenAI(base_url="${base}/v1", api_key=os.environ["GPTAPI_KEY"])
reply = client.chat.completions.create(
    model="gpt-fast",
    messages=[{"role": "user", "content": "Hello!"}],
)
print(reply.choices[0].message.content)`,
    javascript: stream
      ? `import OpenAI from "openai";

const client = new OpenAI({ baseURL: "${base}/v1", apiKey: process.env.GPTAPI_KEY });
const stream = await client.chat.completions.create({
  model: "gpt-fast",
  messages: [{ role: "user", content: "Hello!" }],
  stream: true,
});
for await (const chunk of stream) process.stdout.write(chunk.choices[0]?.delta?.content ?? "");`
      : `import OpenAI from "openai";

const client = new OpenAI({ baseURL: "${base}/v1", apiKey: process.env.GPTAPI_KEY });
const reply = await client.chat.completions.create({
  model: "gpt-fast",
  messages: [{ role: "user", content: "Hello!" }],
});
console.log(reply.choices[0].message.content);`,
  };
}

export function completionsExample(base: string): Example {
  return {
    curl: `curl ${base}/v1/completions \\
  -H "Authorization: Bearer ${KEY}" \\
  -H "Content-Type: application/json" \\
  -d '{"model": "gpt-fast", "prompt": "Once upon a time", "max_tokens": 32}'`,
    python: `reply = client.completions.create(model="gpt-fast", prompt="Once upon a time", max_tokens=32)
print(reply.choices[0].text)`,
    javascript: `const reply = await client.completions.create({ model: "gpt-fast", prompt: "Once upon a time", max_tokens: 32 });
console.log(reply.choices[0].text);`,
  };
}

export function embeddingsExample(base: string): Example {
  return {
    curl: `curl ${base}/v1/embeddings \\
  -H "Authorization: Bearer ${KEY}" \\
  -H "Content-Type: application/json" \\
  -d '{"model": "embed", "input": ["first text", "second text"]}'`,
    python: `result = client.embeddings.create(model="embed", input=["first text", "second text"])
print(len(result.data[0].embedding))`,
    javascript: `const result = await client.embeddings.create({ model: "embed", input: ["first text", "second text"] });
console.log(result.data[0].embedding.length);`,
  };
}

export function modelsExample(base: string): Example {
  return {
    curl: `curl ${base}/v1/models -H "Authorization: Bearer ${KEY}"`,
    python: `for model in client.models.list():
    print(model.id)`,
    javascript: `for await (const model of client.models.list()) console.log(model.id);`,
  };
}

export function authExample(base: string): Example {
  return {
    curl: `export GPTAPI_KEY="sk-..."   # from Dashboard → API Keys
curl ${base}/v1/models -H "Authorization: Bearer $GPTAPI_KEY"`,
    python: `import os
from openai import OpenAI

client = OpenAI(base_url="${base}/v1", api_key=os.environ["GPTAPI_KEY"])`,
    javascript: `import OpenAI from "openai";

const client = new OpenAI({ baseURL: "${base}/v1", apiKey: process.env.GPTAPI_KEY });`,
  };
}

export function errorsExample(base: string): Example {
  return {
    curl: `curl -i ${base}/v1/chat/completions -H "Authorization: Bearer ${KEY}" \\
  -H "Content-Type: application/json" -d '{"model": "gpt-fast", "messages": []}'
# x-ratelimit-limit-requests, x-ratelimit-remaining-requests, x-ratelimit-reset-requests …`,
    python: `import openai

try:
    client.chat.completions.create(model="gpt-fast", messages=[{"role": "user", "content": "Hi"}])
except openai.RateLimitError as err:
    print("slow down:", err.response.headers.get("retry-after"))
except openai.APIStatusError as err:
    print(err.status_code, err.body)`,
    javascript: `try {
  await client.chat.completions.create({ model: "gpt-fast", messages: [{ role: "user", content: "Hi" }] });
} catch (err) {
  if (err instanceof OpenAI.RateLimitError) console.log("slow down:", err.headers["retry-after"]);
  else if (err instanceof OpenAI.APIError) console.log(err.status, err.error);
}`,
  };
}

export function webhookExample(): Example {
  return {
    curl: `# Each delivery carries webhook-id, webhook-timestamp and webhook-signature headers
# (Standard Webhooks): signature = base64(HMAC-SHA256(secret, "{id}.{timestamp}.{body}")).`,
    python: `from standardwebhooks import Webhook

wh = Webhook(os.environ["GPTAPI_WEBHOOK_SECRET"])  # "whsec_..."
event = wh.verify(raw_body, request.headers)  # raises on a bad signature`,
    javascript: `import { Webhook } from "standardwebhooks";

const wh = new Webhook(process.env.GPTAPI_WEBHOOK_SECRET);
const event = wh.verify(rawBody, req.headers); // throws on a bad signature`,
  };
}
