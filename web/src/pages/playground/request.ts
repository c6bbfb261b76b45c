import type { Example } from "@/components/CodeTabs";

export interface ChatMessage {
  role: "system" | "user" | "assistant" | "tool";
  content: string;
}

export interface Settings {
  model: string;
  system: string;
  temperature: string;
  maxTokens: string;
  topP: string;
  stream: boolean;
  tools: string; // a JSON array of tools, or empty
  schema: string; // a JSON schema for the answer, or empty
}

export type Payload = Record<string, unknown>;

/** A field the person typed that is not valid JSON, named so the form can point at it. */
export class InvalidField extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

function parseJson(field: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new InvalidField(field, `${field} is not valid JSON.`);
  }
}

/** The exact body the playground sends to /v1/chat/completions. */
export function buildPayload(settings: Settings, history: ChatMessage[]): Payload {
  const messages = settings.system.trim() ? [{ role: "system", content: settings.system }, ...history] : history;
  const payload: Payload = { model: settings.model, messages };
  if (settings.temperature !== "") payload.temperature = Number(settings.temperature);
  if (settings.topP !== "") payload.top_p = Number(settings.topP);
  if (settings.maxTokens !== "") payload.max_tokens = Number(settings.maxTokens);
  if (settings.tools.trim()) {
    const tools = parseJson("Tools", settings.tools);
    if (!Array.isArray(tools)) throw new InvalidField("Tools", "Tools must be a JSON array.");
    payload.tools = tools;
  }
  if (settings.schema.trim()) {
    payload.response_format = {
      type: "json_schema",
      json_schema: { name: "answer", schema: parseJson("JSON schema", settings.schema) },
    };
  }
  if (settings.stream) {
    payload.stream = true;
    payload.stream_options = { include_usage: true };
  }
  return payload;
}

/** A JSON value as Python source. */
export function pythonLiteral(value: unknown, indent = ""): string {
  if (value === null || value === undefined) return "None";
  if (value === true) return "True";
  if (value === false) return "False";
  if (typeof value === "number" || typeof value === "string") return JSON.stringify(value);
  const inner = `${indent}    `;
  if (Array.isArray(value)) {
    if (value.length === 0) return "[]";
    return `[\n${value.map((item) => inner + pythonLiteral(item, inner)).join(",\n")},\n${indent}]`;
  }
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 0) return "{}";
  return `{\n${entries.map(([k, v]) => `${inner}${JSON.stringify(k)}: ${pythonLiteral(v, inner)}`).join(",\n")},\n${indent}}`;
}

/** The same call as the playground made, in curl, Python and JavaScript, as complete programs. */
export function callCode(base: string, payload: Payload): Example {
  const json = JSON.stringify(payload, null, 2);
  const args = Object.entries(payload)
    .map(([key, value]) => `    ${key}=${pythonLiteral(value, "    ")},`)
    .join("\n");
  const stream = payload.stream === true;
  return {
    curl: `curl ${base}/v1/chat/completions \\
  -H "Authorization: Bearer $GPTAPI_KEY" \\
  -H "Content-Type: application/json" \\
  -d '${json.replaceAll("'", "'\\''")}'`,
    python: `import os

from openai import OpenAI

client = OpenAI(base_url="${base}/v1", api_key=os.environ["GPTAPI_KEY"])
response = client.chat.completions.create(
${args}
)
${
  stream
    ? `for chunk in response:
    if chunk.choices:
        print(chunk.choices[0].delta.content or "", end="")
print()`
    : "print(response.choices[0].message)"
}`,
    javascript: `import OpenAI from "openai";

const client = new OpenAI({ baseURL: "${base}/v1", apiKey: process.env.GPTAPI_KEY });
const response = await client.chat.completions.create(${json});
${
  stream
    ? `for await (const chunk of response) process.stdout.write(chunk.choices[0]?.delta?.content ?? "");
console.log();`
    : "console.log(response.choices[0].message);"
}`,
  };
}

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
}

/** The objects of an OpenAI server-sent event stream, as they arrive. */
export async function* sseObjects(body: ReadableStream<Uint8Array>): AsyncGenerator<Record<string, unknown>> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let end: number;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      for (const line of event.split("\n")) {
        if (!line.startsWith("data:")) continue;
        const data = line.slice(5).trim();
        if (data === "[DONE]") return;
        yield JSON.parse(data) as Record<string, unknown>;
      }
    }
  }
}

/** Cost in nano-dollars of `usage` at prices in dollars per million tokens. */
export function costNanos(usage: Usage, input: string, output: string): number {
  // Dollars per 1M tokens is milli-dollars per token = 1000 nano-dollars per token.
  return Math.round(usage.prompt_tokens * Number(input) * 1000 + usage.completion_tokens * Number(output) * 1000);
}
