import { useMutation, useQuery } from "@tanstack/react-query";
import { Code2, Send, Square } from "lucide-react";
import { useRef, useState, type FormEvent } from "react";
import { useSearchParams } from "react-router-dom";

import { client, reportError, unwrap } from "@/api/client";
import { currentOrganization, useBaseUrl, useMe, useOrganizations } from "@/api/hooks";
import type { ModelInfo } from "@/api/types";
import { CodeTabs } from "@/components/CodeTabs";
import { Field } from "@/components/Field";
import { useModal } from "@/components/modals/ModalContext";
import { SelectField } from "@/components/SelectField";
import { Empty, Failed, Loading } from "@/components/States";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Label } from "@/components/ui/label";
import { count, usd } from "@/lib/format";
import { notify } from "@/lib/toast";
import { useTitle } from "@/lib/title";

import {
  buildPayload,
  callCode,
  costNanos,
  InvalidField,
  sseObjects,
  type ChatMessage,
  type Payload,
  type Settings,
  type Usage,
} from "./playground/request";

interface Turn extends ChatMessage {
  usage?: Usage;
  cost?: number;
  latencyMs?: number;
  toolCalls?: string;
  error?: string;
}

const textareaClass =
  "border-input dark:bg-input/30 focus-visible:ring-ring/50 min-h-20 rounded-md border bg-transparent px-3 py-2 font-mono text-sm outline-none focus-visible:ring-[3px]";

function TextArea({
  label,
  value,
  onChange,
  placeholder,
  rows = 3,
}: {
  label: string;
  value: string;
  onChange: (value: string) => void;
  placeholder?: string;
  rows?: number;
}) {
  const id = `playground-${label.toLowerCase().replaceAll(" ", "-")}`;
  return (
    <div className="grid gap-2">
      <Label htmlFor={id}>{label}</Label>
      <textarea
        id={id}
        rows={rows}
        value={value}
        placeholder={placeholder}
        onChange={(event) => onChange(event.target.value)}
        className={textareaClass}
      />
    </div>
  );
}

interface PlaygroundKey {
  secret: string;
  expires_at: string;
}

/** The short-lived key the browser calls /v1 with, minted again shortly before it expires. */
function usePlaygroundKey(orgId: string) {
  const key = useRef<PlaygroundKey | null>(null);
  return async (): Promise<string> => {
    const current = key.current;
    if (current && Date.parse(current.expires_at) - Date.now() > 60_000) return current.secret;
    key.current = await unwrap(
      client.POST("/api/orgs/{org_id}/playground/key", { params: { path: { org_id: orgId } } }),
    );
    return key.current.secret;
  };
}

function TurnView({ turn }: { turn: Turn }) {
  return (
    <li className="grid gap-1" data-testid={`turn-${turn.role}`}>
      <p className="text-muted-foreground text-xs font-medium tracking-wide uppercase">{turn.role}</p>
      {turn.content && <p className="text-sm break-words whitespace-pre-wrap">{turn.content}</p>}
      {turn.toolCalls && (
        <pre tabIndex={0} className="bg-muted overflow-x-auto rounded-md p-2 text-xs" aria-label="Tool calls">
          {turn.toolCalls}
        </pre>
      )}
      {turn.error && (
        <p role="alert" className="text-bad-strong text-sm">
          {turn.error}
        </p>
      )}
      {turn.usage && (
        <p className="text-muted-foreground text-xs" data-testid="turn-meter">
          {count(turn.usage.prompt_tokens)} in · {count(turn.usage.completion_tokens)} out · {usd(turn.cost ?? 0)}
          {turn.latencyMs !== undefined && ` · ${(turn.latencyMs / 1000).toFixed(2)} s`}
        </p>
      )}
    </li>
  );
}

interface Call {
  key: string;
  payload: Payload;
  model: ModelInfo | undefined;
  signal: AbortSignal;
}

/** Send one request to /v1 and report the answer as it grows (streamed or whole), metered. */
async function converse({ key, payload, model, signal }: Call, show: (reply: Turn) => void) {
  const started = performance.now();
  // The console is served beside /v1, so the browser calls it on this origin (the public
  // base URL, shown in "view code", may be another host with no CORS for browsers).
  const response = await fetch("/v1/chat/completions", {
    method: "POST",
    headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json" },
    body: JSON.stringify(payload),
    signal,
  });
  const reply: Turn = { role: "assistant", content: "" };
  if (!response.ok) {
    const body = (await response.json().catch(() => null)) as { error?: { message?: string } } | null;
    reply.error = `${response.status}: ${body?.error?.message ?? response.statusText}`;
    show({ ...reply });
    return;
  }
  const calls: unknown[] = [];
  if (payload.stream && response.body) {
    for await (const chunk of sseObjects(response.body)) {
      const choice = (chunk.choices as { delta?: { content?: string; tool_calls?: unknown[] } }[] | undefined)?.[0];
      if (choice?.delta?.content) reply.content += choice.delta.content;
      if (choice?.delta?.tool_calls) calls.push(...choice.delta.tool_calls);
      if (chunk.usage) reply.usage = chunk.usage as Usage;
      const failure = (chunk as { error?: { message?: string } }).error;
      if (failure) reply.error = failure.message ?? "The stream broke.";
      show({ ...reply });
    }
  } else {
    const body = (await response.json()) as {
      choices: { message: { content: string | null; tool_calls?: unknown[] } }[];
      usage: Usage;
    };
    reply.content = body.choices[0]?.message.content ?? "";
    calls.push(...(body.choices[0]?.message.tool_calls ?? []));
    reply.usage = body.usage;
  }
  if (calls.length) reply.toolCalls = JSON.stringify(calls, null, 2);
  reply.latencyMs = performance.now() - started;
  if (reply.usage && model) reply.cost = costNanos(reply.usage, model.pricing.input, model.pricing.output);
  show({ ...reply });
}

function Chat({ orgId, models }: { orgId: string; models: ModelInfo[] }) {
  const base = useBaseUrl();
  const [params] = useSearchParams();
  const chatModels = models.filter((model) => model.capabilities.includes("chat"));
  const wanted = params.get("model");
  const [settings, setSettings] = useState<Settings>({
    model: chatModels.find((m) => m.id === wanted)?.id ?? chatModels[0]?.id ?? "",
    system: "",
    temperature: "",
    maxTokens: "256",
    topP: "",
    stream: true,
    tools: "",
    schema: "",
  });
  const [turns, setTurns] = useState<Turn[]>([]);
  const [draft, setDraft] = useState("");
  const [lastPayload, setLastPayload] = useState<Payload | null>(null);
  const [showCode, setShowCode] = useState(false);
  const abort = useRef<AbortController | null>(null);
  const playgroundKey = usePlaygroundKey(orgId);
  const model = chatModels.find((m) => m.id === settings.model);
  const set = (change: Partial<Settings>) => setSettings((now) => ({ ...now, ...change }));

  const send = useMutation({
    mutationFn: async (history: ChatMessage[]) => {
      const payload = buildPayload(settings, history);
      setLastPayload(payload);
      const controller = new AbortController();
      abort.current = controller;
      await converse({ key: await playgroundKey(), payload, model, signal: controller.signal }, (reply) =>
        setTurns([...history, reply]),
      );
    },
    onError: (error) => {
      if (error instanceof DOMException && error.name === "AbortError") return;
      if (error instanceof InvalidField) notify.warn(error.message);
      else reportError(error);
    },
    onSettled: () => {
      abort.current = null;
    },
  });

  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    if (!draft.trim() || send.isPending) return;
    const history: ChatMessage[] = [
      ...turns.filter((t) => !t.error).map(({ role, content }) => ({ role, content })),
      { role: "user", content: draft },
    ];
    setTurns(history);
    setDraft("");
    send.mutate(history);
  };

  const spent = turns.reduce((sum, turn) => sum + (turn.cost ?? 0), 0);
  return (
    <div className="grid gap-4 lg:grid-cols-[20rem_1fr]">
      <Card>
        <CardHeader>
          <CardTitle>Settings</CardTitle>
          <CardDescription>Sent with every message.</CardDescription>
        </CardHeader>
        <CardContent className="grid gap-4">
          <SelectField
            label="Model"
            value={settings.model}
            onChange={(event) => set({ model: event.target.value })}
            options={chatModels.map((m) => ({ value: m.id, label: m.id }))}
          />
          <TextArea
            label="System prompt"
            value={settings.system}
            onChange={(system) => set({ system })}
            placeholder="You are a helpful assistant."
          />
          <div className="grid grid-cols-3 gap-2">
            <Field
              label="Temperature"
              type="number"
              min={0}
              max={2}
              step="0.1"
              value={settings.temperature}
              placeholder="1"
              onChange={(event) => set({ temperature: event.target.value })}
            />
            <Field
              label="Max tokens"
              type="number"
              min={1}
              value={settings.maxTokens}
              onChange={(event) => set({ maxTokens: event.target.value })}
            />
            <Field
              label="Top p"
              type="number"
              min={0}
              max={1}
              step="0.05"
              value={settings.topP}
              placeholder="1"
              onChange={(event) => set({ topP: event.target.value })}
            />
          </div>
          <label className="flex items-center gap-2 text-sm">
            <input
              type="checkbox"
              checked={settings.stream}
              onChange={(event) => set({ stream: event.target.checked })}
            />
            Stream the answer
          </label>
          <TextArea
            label="Tools"
            value={settings.tools}
            onChange={(tools) => set({ tools })}
            placeholder='[{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]'
          />
          <TextArea
            label="JSON schema"
            value={settings.schema}
            onChange={(schema) => set({ schema })}
            placeholder='{"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]}'
          />
        </CardContent>
      </Card>
      <Card className="min-w-0">
        <CardHeader>
          <CardTitle>Chat</CardTitle>
          <CardDescription>
            {model
              ? `${model.id}: $${Number(model.pricing.input).toFixed(2)} in, $${Number(model.pricing.output).toFixed(2)} out per 1M tokens. Spent here: ${usd(spent)}.`
              : "No chat model is available."}
          </CardDescription>
        </CardHeader>
        <CardContent className="grid gap-4">
          {turns.length === 0 ? (
            <Empty title="Say something to start." />
          ) : (
            <ol className="grid gap-4" aria-label="Conversation" aria-live="polite">
              {turns.map((turn, index) => (
                <TurnView key={index} turn={turn} />
              ))}
            </ol>
          )}
          <form onSubmit={submit} className="grid gap-2" aria-label="Send a message">
            <Label htmlFor="playground-message">Message</Label>
            <textarea
              id="playground-message"
              rows={3}
              value={draft}
              onChange={(event) => setDraft(event.target.value)}
              onKeyDown={(event) => {
                if (event.key === "Enter" && (event.metaKey || event.ctrlKey))
                  event.currentTarget.form?.requestSubmit();
              }}
              className={textareaClass}
            />
            <div className="flex flex-wrap gap-2">
              <Button type="submit" disabled={send.isPending || !model}>
                <Send aria-hidden /> Send
              </Button>
              {send.isPending && (
                <Button type="button" variant="outline" onClick={() => abort.current?.abort()}>
                  <Square aria-hidden /> Stop
                </Button>
              )}
              <Button type="button" variant="ghost" onClick={() => setTurns([])} disabled={send.isPending}>
                Clear
              </Button>
              <Button
                type="button"
                variant="outline"
                aria-expanded={showCode}
                onClick={() => setShowCode((on) => !on)}
                disabled={lastPayload === null}
              >
                <Code2 aria-hidden /> View code
              </Button>
            </div>
          </form>
          {showCode && lastPayload && (
            <section aria-label="The last request as code" className="grid min-w-0 gap-2">
              <p className="text-muted-foreground text-sm">
                The request the playground just sent, as a program. Set GPTAPI_KEY to one of your API keys.
              </p>
              <CodeTabs example={callCode(base, lastPayload)} />
            </section>
          )}
        </CardContent>
      </Card>
    </div>
  );
}

export function Playground() {
  useTitle("Playground");
  const { data: me, isPending } = useMe();
  const { open } = useModal();
  const orgs = useOrganizations(Boolean(me));
  const org = currentOrganization(orgs.data);
  const models = useQuery({
    queryKey: ["orgs", org?.id, "models"],
    queryFn: () => unwrap(client.GET("/api/orgs/{org_id}/models", { params: { path: { org_id: org!.id } } })),
    enabled: org !== undefined,
  });
  let body;
  if (isPending || (me && (orgs.isPending || models.isPending))) body = <Loading label="Loading the playground" />;
  else if (!me)
    body = (
      <div className="grid place-items-center gap-4 py-12 text-center">
        <p>Sign in to try every model from the browser, billed to your organisation.</p>
        <Button onClick={() => open({ kind: "signin", returnTo: "/playground" })}>Sign In</Button>
      </div>
    );
  else if (!org || models.isError) body = <Failed message="Could not load the models you can use." />;
  else body = <Chat orgId={org.id} models={models.data?.data ?? []} />;
  return (
    <div className="grid gap-6">
      <div className="grid gap-2">
        <h1 className="text-3xl font-bold tracking-tight">Playground</h1>
        <p className="text-muted-foreground">
          Calls go to /v1 like your code does, billed to {org ? org.name : "your organisation"} with a short-lived key.
        </p>
      </div>
      {body}
    </div>
  );
}
