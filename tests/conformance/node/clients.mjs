// One conformance scenario per run: `node clients.mjs <scenario>`, against GPTAPI_BASE_URL
// (the /v1 base) with GPTAPI_KEY. A scenario throws (exit 1) when the platform answers
// anything an application written for OpenAI would not accept.
import assert from "node:assert/strict";

import { createOpenAI } from "@ai-sdk/openai";
import {
  embed,
  experimental_generateImage as generateImage,
  experimental_generateSpeech as generateSpeech,
  experimental_transcribe as transcribe,
  generateText,
  jsonSchema,
  Output,
  stepCountIs,
  streamText,
  tool,
} from "ai";
import OpenAI, { toFile } from "openai";

const baseURL = process.env.GPTAPI_BASE_URL;
const apiKey = process.env.GPTAPI_KEY;
const client = apiKey && new OpenAI({ baseURL, apiKey, maxRetries: 0 });
const provider = createOpenAI({ baseURL, apiKey });

const weather = {
  type: "function",
  function: {
    name: "get_weather",
    description: "The weather in a city.",
    parameters: {
      type: "object",
      properties: { city: { type: "string" } },
      required: ["city"],
    },
  },
};
const ask = [{ role: "user", content: "What is the weather in Paris?" }];
const COLOURS = ["red", "green", "blue", "yellow"];
// The local speech and transcription engines agree on these words exactly.
const COUNTED = "One two three four five.";
const HEARD = "one two three four five";
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
// The platform's image and rerank models (tests/conformance/test_clients.py).
const IMAGE_MODEL = "sd-image";
const RERANK_MODEL = "rerank";

function sdkWeather() {
  return tool({
    description: "The weather in a city.",
    inputSchema: jsonSchema({
      type: "object",
      properties: { city: { type: "string" } },
      required: ["city"],
    }),
    execute: async ({ city }) => `Sunny and 21 degrees in ${city}.`,
  });
}

function isWav(bytes) {
  const header = Buffer.from(bytes.subarray(0, 12));
  return header.toString("latin1", 0, 4) === "RIFF" && header.toString("latin1", 8, 12) === "WAVE";
}

function speak(text) {
  return client.audio.speech.create({
    model: "tts-1",
    voice: "alloy",
    input: text,
    response_format: "wav",
  });
}

async function spokenWav(text) {
  return new Uint8Array(await (await speak(text)).arrayBuffer());
}

function costOf(usage) {
  assert.match(String(usage.cost), /^\d+\.\d{9}$/, "usage.cost is dollars with nine decimals");
  assert.equal(typeof usage.cost_nanos, "number");
}

// A response that ran: `completed`, or OpenAI's `incomplete` when it reached its limit.
function finished(response) {
  if (response.status === "incomplete") {
    assert.equal(response.incomplete_details.reason, "max_output_tokens");
  } else {
    assert.equal(response.status, "completed");
  }
}

const scenarios = {
  // ---------------------------------------------------------------- openai-node
  async "node-chat"() {
    const completion = await client.chat.completions.create({
      model: "gpt-fast",
      messages: [{ role: "user", content: "Say hello." }],
      max_tokens: 8,
    });
    assert.ok(completion.choices[0].message.content);
    assert.ok(completion.usage.completion_tokens <= 8);
    costOf(completion.usage);
  },

  async "node-chat-stream"() {
    const stream = await client.chat.completions.create({
      model: "gpt-fast",
      messages: [{ role: "user", content: "Say hello." }],
      max_tokens: 8,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    let usage = null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? "";
      usage = chunk.usage ?? usage;
    }
    assert.ok(text);
    costOf(usage);
  },

  async "node-tools-required"() {
    const completion = await client.chat.completions.create({
      model: "gpt-fast",
      messages: ask,
      tools: [weather],
      tool_choice: "required",
      max_tokens: 64,
    });
    const [call] = completion.choices[0].message.tool_calls;
    assert.equal(completion.choices[0].finish_reason, "tool_calls");
    assert.equal(call.function.name, "get_weather");
    assert.equal(typeof JSON.parse(call.function.arguments).city, "string");
  },

  async "node-tools-named-stream"() {
    const stream = await client.chat.completions.create({
      model: "gpt-fast",
      messages: ask,
      tools: [weather],
      tool_choice: { type: "function", function: { name: "get_weather" } },
      max_tokens: 64,
      stream: true,
    });
    let name = "";
    let args = "";
    for await (const chunk of stream) {
      for (const call of chunk.choices[0]?.delta?.tool_calls ?? []) {
        name += call.function?.name ?? "";
        args += call.function?.arguments ?? "";
      }
    }
    assert.equal(name, "get_weather");
    assert.equal(typeof JSON.parse(args).city, "string");
  },

  async "node-run-tools"() {
    // openai-node's multi-turn helper: call the tool, feed its result back, get the answer.
    const runner = client.chat.completions.runTools(
      {
        model: "gpt-fast",
        messages: ask,
        max_tokens: 48,
        tool_choice: "required",
        tools: [
          {
            type: "function",
            function: {
              ...weather.function,
              function: (args) => `Sunny in ${args.city}.`,
              parse: JSON.parse,
            },
          },
        ],
      },
      // `required` calls the tool every round: two rounds show the loop ran.
      { maxChatCompletions: 2 },
    );
    await runner.done();
    const roles = runner.messages.map((message) => message.role);
    assert.ok(roles.includes("tool"), `a tool result was fed back: ${roles}`);
  },

  async "node-structured-output"() {
    const completion = await client.chat.completions.create({
      model: "gpt-fast",
      messages: [{ role: "user", content: "Name a colour." }],
      max_tokens: 48,
      temperature: 0,
      response_format: {
        type: "json_schema",
        json_schema: {
          name: "colour",
          strict: true,
          schema: {
            type: "object",
            // A closed set: the grammar ends the object within a few tokens, where a free
            // string lets a small model ramble past the token limit.
            properties: { colour: { type: "string", enum: COLOURS } },
            required: ["colour"],
            additionalProperties: false,
          },
        },
      },
    });
    assert.ok(COLOURS.includes(JSON.parse(completion.choices[0].message.content).colour));
  },

  async "node-responses"() {
    const first = await client.responses.create({
      model: "gpt-fast",
      input: "Say hello.",
      max_output_tokens: 16,
    });
    finished(first);
    assert.ok(first.output_text);
    const second = await client.responses.create({
      model: "gpt-fast",
      input: "Again.",
      previous_response_id: first.id,
      max_output_tokens: 16,
    });
    assert.ok(second.usage.input_tokens > first.usage.input_tokens, "history was included");
    const stored = await client.responses.retrieve(second.id);
    assert.equal(stored.id, second.id);
  },

  async "node-responses-stream"() {
    const stream = await client.responses.create({
      model: "gpt-fast",
      input: "Say hello.",
      max_output_tokens: 16,
      stream: true,
    });
    let text = "";
    let completed = null;
    for await (const event of stream) {
      if (event.type === "response.output_text.delta") text += event.delta;
      if (["response.completed", "response.incomplete"].includes(event.type)) {
        completed = event.response;
      }
    }
    assert.ok(text);
    assert.equal(completed.output[0].content[0].text, text);
  },

  async "node-responses-tools"() {
    const response = await client.responses.create({
      model: "gpt-fast",
      input: "What is the weather in Paris?",
      tools: [{ type: "function", ...weather.function }],
      tool_choice: "required",
      max_output_tokens: 64,
    });
    const call = response.output.find((item) => item.type === "function_call");
    assert.equal(call.name, "get_weather");
    const answer = await client.responses.create({
      model: "gpt-fast",
      previous_response_id: response.id,
      input: [{ type: "function_call_output", call_id: call.call_id, output: "Sunny." }],
      max_output_tokens: 16,
    });
    finished(answer);
  },

  async "node-embeddings-dimensions"() {
    const result = await client.embeddings.create({
      model: "embed",
      input: ["hello", "world"],
      dimensions: 32,
    });
    assert.equal(result.data.length, 2);
    for (const item of result.data) {
      assert.equal(item.embedding.length, 32);
      const norm = Math.hypot(...item.embedding);
      assert.ok(Math.abs(norm - 1) < 1e-3, `unit length: ${norm}`);
    }
  },

  async "node-completions"() {
    const echoed = await client.completions.create({
      model: "gpt-fast",
      prompt: "Once upon",
      max_tokens: 3,
      echo: true,
    });
    assert.ok(echoed.choices[0].text.startsWith("Once upon"));
    const scored = await client.completions.create({
      model: "gpt-fast",
      prompt: "The sky is",
      max_tokens: 3,
      logprobs: 2,
    });
    const { tokens, token_logprobs, top_logprobs, text_offset } = scored.choices[0].logprobs;
    assert.equal(tokens.join(""), scored.choices[0].text);
    assert.equal(token_logprobs.length, tokens.length);
    assert.equal(top_logprobs.length, tokens.length);
    assert.deepEqual(text_offset.slice(0, 1), [0]);
  },

  async "node-errors"() {
    await assert.rejects(
      client.chat.completions.create({ model: "no-such-model", messages: ask }),
      (error) => error instanceof OpenAI.NotFoundError && error.code === "model_not_found",
    );
    await assert.rejects(
      client.post("/no/such/path", { body: {} }),
      (error) => error instanceof OpenAI.NotFoundError,
    );
    await assert.rejects(
      client.chat.completions.create({ model: "gpt-fast", messages: ask, temperature: 9 }),
      (error) => error instanceof OpenAI.BadRequestError && error.param === "temperature",
    );
    const bad = new OpenAI({ baseURL, apiKey: "sk-wrong", maxRetries: 0 });
    await assert.rejects(bad.models.list(), (error) => error instanceof OpenAI.AuthenticationError);
  },

  async "node-speech"() {
    const { data, response } = await speak(COUNTED).withResponse();
    assert.ok(isWav(new Uint8Array(await data.arrayBuffer())), "a WAV file");
    assert.match(response.headers.get("x-request-cost"), /^\d+\.\d{9}$/);
  },

  async "node-transcription"() {
    const transcription = await client.audio.transcriptions.create({
      model: "whisper-1",
      file: await toFile(await spokenWav(COUNTED), "counted.wav", { type: "audio/wav" }),
    });
    assert.equal(transcription.text, HEARD);
    assert.equal(transcription.usage.type, "duration");
    assert.ok(transcription.usage.seconds > 0);
  },

  async "node-images"() {
    const result = await client.images.generate({
      model: IMAGE_MODEL,
      prompt: "A lighthouse at dusk.",
      response_format: "b64_json",
    });
    assert.equal(result.data.length, 1);
    const image = Buffer.from(result.data[0].b64_json, "base64");
    assert.ok(image.subarray(0, 8).equals(PNG_SIGNATURE), "a PNG image");
  },

  async "node-rerank"() {
    // openai-node has no rerank method: its generic `post` is how it reaches other endpoints.
    const documents = [
      "Berlin is the capital of Germany.",
      "Paris is the capital of France.",
      "Bananas are rich in potassium.",
    ];
    const ranked = await client.post("/rerank", {
      body: { model: RERANK_MODEL, query: "What is the capital of France?", documents },
    });
    assert.equal(ranked.results.length, documents.length);
    assert.equal(ranked.results[0].index, 1);
    const scores = ranked.results.map((result) => result.relevance_score);
    assert.deepEqual(scores, scores.toSorted((a, b) => b - a), "most relevant first");
    assert.ok(ranked.usage.prompt_tokens > 0);
  },

  // ---------------------------------------------------------------- Vercel AI SDK
  async "ai-sdk-responses"() {
    // `openai(model)` speaks the Responses API.
    const result = await generateText({
      model: provider("gpt-fast"),
      prompt: "Say hello.",
      maxOutputTokens: 16,
    });
    assert.ok(result.text);
    assert.ok(result.usage.outputTokens > 0);
  },

  async "ai-sdk-chat"() {
    const result = await generateText({
      model: provider.chat("gpt-fast"),
      prompt: "Say hello.",
      maxOutputTokens: 16,
    });
    assert.ok(result.text);
    assert.ok(result.usage.inputTokens > 0);
  },

  async "ai-sdk-stream"() {
    for (const model of [provider("gpt-fast"), provider.chat("gpt-fast")]) {
      const result = streamText({ model, prompt: "Say hello.", maxOutputTokens: 16 });
      let text = "";
      for await (const delta of result.textStream) text += delta;
      assert.ok(text);
      assert.ok(["stop", "length"].includes(await result.finishReason));
    }
  },

  async "ai-sdk-tools"() {
    for (const model of [provider("gpt-fast"), provider.chat("gpt-fast")]) {
      const result = await generateText({
        model,
        prompt: "What is the weather in Paris?",
        tools: { get_weather: sdkWeather() },
        toolChoice: "required",
        maxOutputTokens: 64,
      });
      assert.equal(result.toolCalls[0].toolName, "get_weather");
      assert.equal(typeof result.toolResults[0].output, "string");
    }
  },

  async "ai-sdk-tools-multi-turn"() {
    for (const model of [provider("gpt-fast"), provider.chat("gpt-fast")]) {
      const result = await generateText({
        model,
        prompt: "What is the weather in Paris?",
        tools: { get_weather: sdkWeather() },
        // The tool is called in the first step; its result goes back for the answer.
        prepareStep: ({ stepNumber }) => ({ toolChoice: stepNumber === 0 ? "required" : "none" }),
        stopWhen: stepCountIs(2),
        maxOutputTokens: 32,
      });
      assert.equal(result.steps.length, 2);
      assert.equal(result.steps[0].toolCalls[0].toolName, "get_weather");
      assert.ok(result.text);
    }
  },

  async "ai-sdk-structured-output"() {
    for (const model of [provider("gpt-fast"), provider.chat("gpt-fast")]) {
      const result = await generateText({
        model,
        prompt: "Name a colour.",
        output: Output.object({
          schema: jsonSchema({
            type: "object",
            // A closed set: the grammar ends the object within a few tokens, where a free
            // string lets a small model ramble past the token limit.
            properties: { colour: { type: "string", enum: COLOURS } },
            required: ["colour"],
            additionalProperties: false,
          }),
        }),
        maxOutputTokens: 48,
        temperature: 0,
      });
      assert.ok(COLOURS.includes(result.output.colour));
    }
  },

  async "ai-sdk-embeddings"() {
    const result = await embed({
      model: provider.embedding("embed"),
      value: "hello",
      providerOptions: { openai: { dimensions: 16 } },
    });
    assert.equal(result.embedding.length, 16);
  },

  async "ai-sdk-speech"() {
    // The SDK's defaults: voice alloy, MP3.
    const result = await generateSpeech({ model: provider.speech("tts-1"), text: COUNTED });
    assert.deepEqual(result.warnings, []);
    assert.equal(result.audio.mediaType, "audio/mpeg");
    assert.ok(result.audio.uint8Array.length > 1000, "more than a header");
  },

  async "ai-sdk-transcription"() {
    const result = await transcribe({
      model: provider.transcription("whisper-1"),
      audio: await spokenWav(COUNTED),
    });
    assert.equal(result.text, HEARD);
    assert.ok(result.durationInSeconds > 0, "the duration from `usage`");
  },

  async "ai-sdk-image"() {
    const result = await generateImage({
      model: provider.image(IMAGE_MODEL),
      prompt: "A lighthouse at dusk.",
    });
    assert.deepEqual(result.warnings, []);
    assert.equal(result.image.mediaType, "image/png");
    assert.ok(Buffer.from(result.image.uint8Array.subarray(0, 8)).equals(PNG_SIGNATURE));
  },
};

const name = process.argv[2];
if (!(name in scenarios)) {
  console.error(`unknown scenario ${name}`);
  process.exit(2);
} else {
  await scenarios[name]();
  console.log(`${name}: ok`);
}
