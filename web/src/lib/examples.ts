import type { Example } from "@/components/CodeTabs";

// Every sample runs as copied, with the key in GPTAPI_KEY (a test runs each one against a
// live platform): Python needs `pip install openai`, JavaScript `npm install openai` (as an
// ES module, for the top-level await).

const CURL_AUTH = `-H "Authorization: Bearer $GPTAPI_KEY"`;

function python(base: string, body: string): string {
  return `import os

from openai import OpenAI

client = OpenAI(base_url="${base}/v1", api_key=os.environ["GPTAPI_KEY"])
${body}`;
}

function javascript(base: string, body: string): string {
  return `import OpenAI from "openai";

const client = new OpenAI({ baseURL: "${base}/v1", apiKey: process.env.GPTAPI_KEY });
${body}`;
}

export function chatExample(base: string, stream = false): Example {
  const s = stream ? ', "stream": true' : "";
  return {
    curl: `curl ${base}/v1/chat/completions \\
  ${CURL_AUTH} \\
  -H "Content-Type: application/json" \\
  -d '{"model": "gpt-fast", "messages": [{"role": "user", "content": "Hello!"}], "max_tokens": 64${s}}'`,
    python: python(
      base,
      stream
        ? `stream = client.chat.completions.create(
    model="gpt-fast",
    messages=[{"role": "user", "content": "Hello!"}],
    max_tokens=64,
    stream=True,
)
for chunk in stream:
    if chunk.choices:
        print(chunk.choices[0].delta.content or "", end="")
print()`
        : `reply = client.chat.completions.create(
    model="gpt-fast",
    messages=[{"role": "user", "content": "Hello!"}],
    max_tokens=64,
)
print(reply.choices[0].message.content)`,
    ),
    javascript: javascript(
      base,
      stream
        ? `const stream = await client.chat.completions.create({
  model: "gpt-fast",
  messages: [{ role: "user", content: "Hello!" }],
  max_tokens: 64,
  stream: true,
});
for await (const chunk of stream) process.stdout.write(chunk.choices[0]?.delta?.content ?? "");
console.log();`
        : `const reply = await client.chat.completions.create({
  model: "gpt-fast",
  messages: [{ role: "user", content: "Hello!" }],
  max_tokens: 64,
});
console.log(reply.choices[0].message.content);`,
    ),
  };
}

export function completionsExample(base: string): Example {
  return {
    curl: `curl ${base}/v1/completions \\
  ${CURL_AUTH} \\
  -H "Content-Type: application/json" \\
  -d '{"model": "gpt-fast", "prompt": "Once upon a time", "max_tokens": 32}'`,
    python: python(
      base,
      `reply = client.completions.create(model="gpt-fast", prompt="Once upon a time", max_tokens=32)
print(reply.choices[0].text)`,
    ),
    javascript: javascript(
      base,
      `const reply = await client.completions.create({ model: "gpt-fast", prompt: "Once upon a time", max_tokens: 32 });
console.log(reply.choices[0].text);`,
    ),
  };
}

export function embeddingsExample(base: string): Example {
  return {
    curl: `curl ${base}/v1/embeddings \\
  ${CURL_AUTH} \\
  -H "Content-Type: application/json" \\
  -d '{"model": "embed", "input": ["first text", "second text"]}'`,
    python: python(
      base,
      `result = client.embeddings.create(model="embed", input=["first text", "second text"])
print(len(result.data[0].embedding))`,
    ),
    javascript: javascript(
      base,
      `const result = await client.embeddings.create({ model: "embed", input: ["first text", "second text"] });
console.log(result.data[0].embedding.length);`,
    ),
  };
}

// Speech is written to speech.wav in the working directory, then heard again.
export function audioExample(base: string): Example {
  return {
    curl: `curl ${base}/v1/audio/speech \\
  ${CURL_AUTH} \\
  -H "Content-Type: application/json" \\
  -d '{"model": "tts-1", "voice": "alloy", "input": "One two three four five.", "response_format": "wav"}' \\
  --fail --output speech.wav
curl ${base}/v1/audio/transcriptions \\
  ${CURL_AUTH} \\
  -F model=whisper-1 \\
  -F file=@speech.wav`,
    python: python(
      base,
      `speech = client.audio.speech.create(
    model="tts-1", voice="alloy", input="One two three four five.", response_format="wav"
)
speech.write_to_file("speech.wav")
with open("speech.wav", "rb") as audio:
    transcript = client.audio.transcriptions.create(model="whisper-1", file=audio)
print(transcript.text)`,
    ),
    javascript: javascript(
      base,
      `import fs from "node:fs";

const speech = await client.audio.speech.create({
  model: "tts-1",
  voice: "alloy",
  input: "One two three four five.",
  response_format: "wav",
});
fs.writeFileSync("speech.wav", Buffer.from(await speech.arrayBuffer()));
const transcript = await client.audio.transcriptions.create({
  model: "whisper-1",
  file: fs.createReadStream("speech.wav"),
});
console.log(transcript.text);`,
    ),
  };
}

export function modelsExample(base: string): Example {
  return {
    curl: `curl ${base}/v1/models ${CURL_AUTH}`,
    python: python(
      base,
      `for model in client.models.list():
    print(model.id)`,
    ),
    javascript: javascript(base, `for await (const model of client.models.list()) console.log(model.id);`),
  };
}

export function authExample(base: string): Example {
  return {
    curl: `export GPTAPI_KEY="gpt_live_..."   # from Dashboard → API Keys
curl ${base}/v1/models -H "Authorization: Bearer $GPTAPI_KEY"`,
    python: python(base, `print(client.models.list().data[0].id)`),
    javascript: javascript(base, `console.log((await client.models.list()).data[0].id);`),
  };
}

export function errorsExample(base: string): Example {
  return {
    curl: `curl -i ${base}/v1/chat/completions ${CURL_AUTH} \\
  -H "Content-Type: application/json" -d '{"model": "gpt-fast", "messages": []}'
# 400, with x-ratelimit-limit-requests, x-ratelimit-remaining-requests, x-ratelimit-reset-requests …`,
    python: `import os

import openai
from openai import OpenAI

client = OpenAI(base_url="${base}/v1", api_key=os.environ["GPTAPI_KEY"])
try:
    client.chat.completions.create(model="gpt-fast", messages=[])
except openai.RateLimitError as err:
    print("slow down:", err.response.headers.get("retry-after"))
except openai.APIStatusError as err:
    print(err.status_code, err.body)`,
    javascript: javascript(
      base,
      `try {
  await client.chat.completions.create({ model: "gpt-fast", messages: [] });
} catch (err) {
  if (err instanceof OpenAI.RateLimitError) console.log("slow down:", err.headers.get("retry-after"));
  else if (err instanceof OpenAI.APIError) console.log(err.status, err.error);
  else throw err;
}`,
    ),
  };
}

export function webhookExample(): Example {
  return {
    python: `import os

from standardwebhooks import Webhook  # pip install standardwebhooks


def verified_event(raw_body: bytes, headers: dict[str, str]) -> dict:
    """The event, once its webhook-signature proves it came from GPT API."""
    wh = Webhook(os.environ["GPTAPI_WEBHOOK_SECRET"])  # "whsec_..." from Dashboard → Webhooks
    return wh.verify(raw_body, headers)  # raises on a bad signature or an old timestamp`,
    javascript: `import { createHmac, timingSafeEqual } from "node:crypto";

// The event, once its webhook-signature proves it came from GPT API; throws otherwise.
export function verifiedEvent(rawBody, headers, secret = process.env.GPTAPI_WEBHOOK_SECRET) {
  const id = headers["webhook-id"];
  const timestamp = headers["webhook-timestamp"];
  if (Math.abs(Date.now() / 1000 - Number(timestamp)) > 300) throw new Error("stale webhook");
  const key = Buffer.from(secret.replace(/^whsec_/, ""), "base64");
  const expected = createHmac("sha256", key).update(\`\${id}.\${timestamp}.\${rawBody}\`).digest();
  const valid = headers["webhook-signature"]
    .split(" ")
    .map((part) => Buffer.from(part.split(",")[1] ?? "", "base64"))
    .some((got) => got.length === expected.length && timingSafeEqual(got, expected));
  if (!valid) throw new Error("bad webhook signature");
  return JSON.parse(rawBody);
}`,
  };
}

/** Calling one deployment with its own key (in DEPLOYMENT_KEY): `apiBase` already ends in /v1
and `model` is the deployment's name. */
export function deploymentExample(apiBase: string, model: string): Example {
  const base = apiBase.replace(/\/+$/, "");
  return {
    curl: `curl ${base}/chat/completions \\
  -H "Authorization: Bearer $DEPLOYMENT_KEY" \\
  -H "Content-Type: application/json" \\
  -d '{"model": "${model}", "messages": [{"role": "user", "content": "Hello!"}], "max_tokens": 64}'`,
    python: `import os

from openai import OpenAI

client = OpenAI(base_url="${base}", api_key=os.environ["DEPLOYMENT_KEY"])
reply = client.chat.completions.create(
    model="${model}",
    messages=[{"role": "user", "content": "Hello!"}],
    max_tokens=64,
)
print(reply.choices[0].message.content)`,
    javascript: `import OpenAI from "openai";

const client = new OpenAI({ baseURL: "${base}", apiKey: process.env.DEPLOYMENT_KEY });
const reply = await client.chat.completions.create({
  model: "${model}",
  messages: [{ role: "user", content: "Hello!" }],
  max_tokens: 64,
});
console.log(reply.choices[0].message.content);`,
  };
}
