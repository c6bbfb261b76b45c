import { Activity, Gauge, KeyRound, Receipt, Webhook, Zap } from "lucide-react";
import { motion } from "motion/react";
import { Link } from "react-router-dom";

import { useBaseUrl, useMe, useModels } from "@/api/hooks";
import { CodeTabs } from "@/components/CodeTabs";
import { useModal } from "@/components/modals/ModalContext";
import { Failed, Loading } from "@/components/States";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { chatExample } from "@/lib/examples";
import { unitPrice } from "@/pages/models/modelTable";
import { StatusSummary } from "@/pages/status/StatusSummary";
import { useTitle } from "@/lib/title";

const FEATURES = [
  { icon: Zap, title: "OpenAI compatible", text: "Change the base URL; keep your SDK, code and tools." },
  { icon: Receipt, title: "Pay per token", text: "Prepaid credit, exact per-token billing, no minimums." },
  { icon: KeyRound, title: "API keys with limits", text: "Per-key rate limits, spend caps and model lists." },
  { icon: Gauge, title: "Usage analytics", text: "Requests, tokens and cost by day, model and key." },
  { icon: Webhook, title: "Webhooks", text: "Signed usage and billing events delivered to your endpoint." },
  { icon: Activity, title: "Transparent status", text: "Live health of every service and server, with history." },
];

// What a price not per token is for, by its unit.
const UNIT_LABEL: Record<string, string> = { image: "Output", "1M characters": "Text", minute: "Audio" };

function price(value: string) {
  return `$${Number(value).toFixed(2)}`;
}

function Models() {
  const { data, isPending, isError } = useModels();
  if (isPending) return <Loading label="Loading models" />;
  if (isError) return <Failed message="Could not load models." />;
  return (
    <div className="grid gap-4 md:grid-cols-3">
      {data.map((model) => (
        <Card key={model.id} data-testid="model-card">
          <CardHeader>
            <CardTitle className="font-mono">{model.id}</CardTitle>
            <CardDescription>{model.description || model.name}</CardDescription>
          </CardHeader>
          <CardContent className="grid gap-1 text-sm">
            {model.pricing.unit === "1M tokens" ? (
              <>
                <p>
                  <span className="text-muted-foreground">Input </span>
                  {price(model.pricing.input)} / 1M tokens
                </p>
                <p>
                  <span className="text-muted-foreground">Output </span>
                  {model.type === "chat" ? `${price(model.pricing.output)} / 1M tokens` : "N/A"}
                </p>
              </>
            ) : (
              <p>
                {/* An image, 1M characters read out, or a minute heard (billed per second). */}
                <span className="text-muted-foreground">{UNIT_LABEL[model.pricing.unit] ?? "Input"} </span>
                {unitPrice(model.pricing)}
              </p>
            )}
          </CardContent>
        </Card>
      ))}
    </div>
  );
}

function Section({ title, children, id }: { title: string; children: React.ReactNode; id: string }) {
  return (
    <motion.section
      aria-labelledby={id}
      className="grid min-w-0 gap-6 py-10"
      initial={{ opacity: 0, y: 12 }}
      animate={{ opacity: 1, y: 0 }}
      transition={{ duration: 0.3 }}
    >
      <h2 id={id} className="text-2xl font-semibold tracking-tight">
        {title}
      </h2>
      {children}
    </motion.section>
  );
}

/** The main call to action: an account for visitors, the way in for those signed in. */
function StartButton({ children }: { children: string }) {
  const { open } = useModal();
  const { data: me } = useMe();
  if (me) {
    return (
      <Button size="lg" asChild>
        <Link to="/dashboard">Open your dashboard</Link>
      </Button>
    );
  }
  return (
    <Button size="lg" onClick={() => open({ kind: "signup" })}>
      {children}
    </Button>
  );
}

export function Landing() {
  useTitle(null);
  const base = useBaseUrl();
  return (
    <div>
      <section className="grid gap-6 py-12 text-center sm:py-20">
        <motion.h1
          className="text-4xl font-bold tracking-tight sm:text-6xl"
          initial={{ opacity: 0, y: 8 }}
          animate={{ opacity: 1, y: 0 }}
          transition={{ duration: 0.3 }}
        >
          Open models, the OpenAI API.
        </motion.h1>
        <p className="text-muted-foreground mx-auto max-w-2xl text-lg">
          GPT API runs open-weight models on a fleet of llama.cpp servers behind an OpenAI-compatible endpoint. Point
          your existing client at us and pay only for the tokens you use.
        </p>
        <div className="flex flex-wrap justify-center gap-3">
          <StartButton>Get an API key</StartButton>
          <Button size="lg" variant="outline" asChild>
            <Link to="/docs">Read the docs</Link>
          </Button>
        </div>
      </section>
      <Section id="models" title="Models and pricing">
        <Models />
        <Link to="/models" className="w-fit text-sm underline underline-offset-4">
          Compare every model: context, capabilities and live latency
        </Link>
      </Section>
      <Section id="dropin" title="A drop-in replacement">
        <p className="text-muted-foreground">Use the official OpenAI SDKs; only the base URL and key change.</p>
        <CodeTabs example={chatExample(base)} />
      </Section>
      <Section id="features" title="Everything you need to ship">
        <div className="grid gap-4 sm:grid-cols-2 lg:grid-cols-3">
          {FEATURES.map(({ icon: Icon, title, text }) => (
            <Card key={title}>
              <CardHeader>
                <Icon aria-hidden className="text-good-strong size-5" />
                <CardTitle>{title}</CardTitle>
                <CardDescription>{text}</CardDescription>
              </CardHeader>
            </Card>
          ))}
        </div>
      </Section>
      <Section id="status" title="System status">
        <StatusSummary />
      </Section>
      <section className="bg-muted my-10 grid gap-4 rounded-xl p-8 text-center">
        <h2 className="text-2xl font-semibold">Start building in minutes</h2>
        <p className="text-muted-foreground">Create an account, add credit, and make your first call.</p>
        <div>
          <StartButton>Create your account</StartButton>
        </div>
      </section>
    </div>
  );
}
