import type { ReactNode } from "react";

import { useBaseUrl } from "@/api/hooks";
import { CodeTabs } from "@/components/CodeTabs";
import {
  audioExample,
  authExample,
  chatExample,
  completionsExample,
  embeddingsExample,
  errorsExample,
  modelsExample,
  webhookExample,
} from "@/lib/examples";
import { useTitle } from "@/lib/title";

const SECTIONS = [
  ["quick-start", "Quick start"],
  ["authentication", "Authentication"],
  ["chat", "Chat completions"],
  ["completions", "Completions"],
  ["embeddings", "Embeddings"],
  ["rerank", "Reranking"],
  ["images", "Image generation"],
  ["audio", "Speech and transcription"],
  ["models", "Models"],
  ["streaming", "Streaming"],
  ["errors", "Errors and rate limits"],
  ["webhooks", "Webhooks"],
] as const;

function Section({ id, title, children }: { id: string; title: string; children: ReactNode }) {
  return (
    <section id={id} aria-labelledby={`${id}-title`} className="grid min-w-0 scroll-mt-20 gap-4">
      <h2 id={`${id}-title`} className="text-2xl font-semibold tracking-tight">
        {title}
      </h2>
      {children}
    </section>
  );
}

export function Docs() {
  useTitle("Documentation");
  const base = useBaseUrl();
  return (
    <div className="grid gap-10 lg:grid-cols-[12rem_1fr]">
      <nav aria-label="Documentation" className="lg:sticky lg:top-20 lg:self-start">
        <ul className="flex flex-wrap gap-x-4 gap-y-1 text-sm lg:flex-col">
          {SECTIONS.map(([id, title]) => (
            <li key={id}>
              <a href={`#${id}`} className="text-muted-foreground hover:text-foreground rounded-sm">
                {title}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <div className="grid min-w-0 gap-12">
        <h1 className="text-3xl font-bold tracking-tight">Documentation</h1>
        <Section id="quick-start" title="Quick start">
          <p className="text-muted-foreground">
            Create an API key under Dashboard → API Keys, then call <code>{base}/v1</code> with any OpenAI client.
          </p>
          <CodeTabs example={chatExample(base)} />
        </Section>
        <Section id="authentication" title="Authentication">
          <p className="text-muted-foreground">
            Send your key as a bearer token: <code>Authorization: Bearer sk-…</code>. Keys are shown once when created;
            revoke a leaked key from the dashboard and it stops working within seconds.
          </p>
          <CodeTabs example={authExample(base)} />
        </Section>
        <Section id="chat" title="Chat completions">
          <p className="text-muted-foreground">
            <code>POST /v1/chat/completions</code> with <code>gpt-fast</code> or <code>gpt-full</code>.
          </p>
          <CodeTabs example={chatExample(base)} />
        </Section>
        <Section id="completions" title="Completions">
          <p className="text-muted-foreground">
            <code>POST /v1/completions</code> continues a plain-text prompt.
          </p>
          <CodeTabs example={completionsExample(base)} />
        </Section>
        <Section id="embeddings" title="Embeddings">
          <p className="text-muted-foreground">
            <code>POST /v1/embeddings</code> with the <code>embed</code> model; input may be a string or a list.
          </p>
          <CodeTabs example={embeddingsExample(base)} />
        </Section>
        <Section id="rerank" title="Reranking">
          <p className="text-muted-foreground">
            <code>POST /v1/rerank</code> orders <code>documents</code> (strings, or objects with a <code>text</code>) by
            their relevance to a <code>query</code>, in the shape of Cohere&apos;s and Jina&apos;s rerank APIs, with{" "}
            <code>top_n</code> and <code>return_documents</code>. It needs a model of type <code>rerank</code> (see{" "}
            <code>capabilities.rerank</code> in <code>GET /v1/models</code>); the platform lists one once its operator
            has added a reranker. Results come most relevant first, each with its <code>index</code> in the documents
            sent and its <code>relevance_score</code>; the tokens read are billed at the model&apos;s input price.
          </p>
        </Section>
        <Section id="images" title="Image generation">
          <p className="text-muted-foreground">
            <code>POST /v1/images/generations</code> with an image model (<code>type: "image"</code> in{" "}
            <code>/v1/models</code>), when the platform has one: OpenAI's request and response, images returned as{" "}
            <code>b64_json</code>, billed per image. <code>n</code> images are held and only those returned are charged;{" "}
            <code>usage</code> carries <code>images</code>, <code>cost</code> and <code>cost_nanos</code>.
          </p>
        </Section>
        <Section id="audio" title="Speech and transcription">
          <p className="text-muted-foreground">
            <code>POST /v1/audio/speech</code> reads text out with <code>tts-1</code> (voices <code>alloy</code>,{" "}
            <code>ash</code>, <code>ballad</code>, <code>coral</code>, <code>echo</code>, <code>fable</code>,{" "}
            <code>nova</code>, <code>onyx</code>, <code>sage</code>, <code>shimmer</code>, <code>verse</code>,{" "}
            <code>marin</code>, <code>cedar</code>; <code>wav</code>, <code>pcm</code> and <code>mp3</code>) and is
            billed per input character; the cost is in the <code>x-request-cost</code> header.{" "}
            <code>POST /v1/audio/transcriptions</code> takes a WAV file as <code>file</code> with <code>whisper-1</code>{" "}
            and answers <code>json</code>, <code>text</code>, <code>verbose_json</code>, <code>srt</code> or{" "}
            <code>vtt</code>; it is billed per second of audio, measured from the file, and JSON answers carry the cost
            in <code>usage</code>.
          </p>
          <p className="text-muted-foreground">
            Over WebSocket, with the same key (an <code>Authorization</code> header, or from a browser the subprotocols{" "}
            <code>realtime</code> and <code>openai-insecure-api-key.&lt;key&gt;</code>): <code>/ws/audio/speech</code>{" "}
            speaks text a sentence at a time as it is written, <code>/ws/audio/transcriptions</code> hears 16-bit PCM as
            it is recorded and answers every few seconds, and <code>/ws/voice-agent</code> holds a spoken conversation
            with a chat model. Each sentence, stretch of audio or reply is billed as the matching request above.
          </p>
          <CodeTabs example={audioExample(base)} />
        </Section>
        <Section id="models" title="Models">
          <p className="text-muted-foreground">
            <code>GET /v1/models</code> lists the models your key may call, with their prices.
          </p>
          <CodeTabs example={modelsExample(base)} />
        </Section>
        <Section id="streaming" title="Streaming">
          <p className="text-muted-foreground">
            Set <code>stream: true</code> to receive server-sent events as tokens are generated, ending with{" "}
            <code>data: [DONE]</code>. Add{" "}
            <code>
              stream_options: {"{"}"include_usage": true{"}"}
            </code>{" "}
            for a final usage chunk.
          </p>
          <CodeTabs example={chatExample(base, true)} />
        </Section>
        <Section id="errors" title="Errors and rate limits">
          <p className="text-muted-foreground">
            Errors use OpenAI's shape: <code>{'{"error": {"message", "type", "param", "code"}}'}</code>. A 429 carries{" "}
            <code>Retry-After</code>; every response carries <code>x-ratelimit-limit-requests</code>,{" "}
            <code>x-ratelimit-remaining-requests</code>, <code>x-ratelimit-reset-requests</code> and their{" "}
            <code>-tokens</code> counterparts. An exhausted balance answers 429 <code>insufficient_quota</code>.
          </p>
          <CodeTabs example={errorsExample(base)} />
        </Section>
        <Section id="webhooks" title="Webhooks and signature verification">
          <p className="text-muted-foreground">
            Register an endpoint under Dashboard → Webhooks. Deliveries follow Standard Webhooks: verify the{" "}
            <code>webhook-signature</code> header against the raw body with your endpoint's secret before trusting an
            event, and reject timestamps older than five minutes.
          </p>
          <CodeTabs example={webhookExample()} />
        </Section>
      </div>
    </div>
  );
}
