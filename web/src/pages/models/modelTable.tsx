import type { ReactNode } from "react";
import { Link } from "react-router-dom";

import type { ModelInfo } from "@/api/types";
import { Badge } from "@/components/ui/badge";
import { count } from "@/lib/format";
import { STATUS_LABEL, STATUS_TONE } from "@/pages/status/statusTone";

export interface Column {
  header: string;
  numeric?: boolean;
  cell: (model: ModelInfo) => ReactNode;
}

export function perMillion(value: string | null | undefined): string {
  return value === null || value === undefined ? "—" : `$${Number(value).toFixed(2)}`;
}

/** A price not per token, as its unit reads: "$0.02 / image", "$15 / 1M characters", "$0.006 /
minute"; exact, however small. */
export function unitPrice(pricing: ModelInfo["pricing"]): string {
  const amount = pricing.unit === "image" ? (pricing.per_image ?? "—") : String(Number(pricing.input));
  return `$${amount} / ${pricing.unit}`;
}

// The docs section that shows how to call each kind of model the playground does not.
const DOCS_SECTION: Record<string, string> = {
  rerank: "rerank",
  image: "images",
  speech: "audio",
  transcription: "audio",
};

/** The Models table, one entry per column: a price the catalog gains later (cached input)
is one more entry here. */
export const COLUMNS: Column[] = [
  { header: "Model", cell: (m) => <code className="font-medium">{m.id}</code> },
  { header: "Stands for", cell: (m) => m.name },
  {
    header: "Context",
    numeric: true,
    cell: (m) => (m.context_length === null ? "—" : `${count(m.context_length)} tokens`),
  },
  {
    header: "Capabilities",
    cell: (m) => (
      <span className="flex flex-wrap gap-1">
        {m.capabilities.map((capability) => (
          <Badge key={capability} variant="outline">
            {capability.replace("_", " ")}
          </Badge>
        ))}
      </span>
    ),
  },
  {
    header: "Input / 1M",
    numeric: true,
    // Other units (an image, 1M characters read out, a minute heard) read as themselves.
    cell: (m) => (m.pricing.unit === "1M tokens" ? perMillion(m.pricing.input) : unitPrice(m.pricing)),
  },
  {
    header: "Output / 1M",
    numeric: true,
    cell: (m) => (m.type === "chat" ? perMillion(m.pricing.output) : "—"),
  },
  {
    header: "Status",
    cell: (m) => <Badge variant={STATUS_TONE[m.status]}>{STATUS_LABEL[m.status]}</Badge>,
  },
  { header: "Latency", numeric: true, cell: (m) => (m.latency_ms === null ? "—" : `${m.latency_ms} ms`) },
  {
    header: "Try it",
    cell: (m) =>
      m.type === "chat" ? (
        <Link to={`/playground?model=${encodeURIComponent(m.id)}`} className="underline underline-offset-4">
          Playground<span className="sr-only"> with {m.id}</span>
        </Link>
      ) : (
        <Link to={`/docs#${DOCS_SECTION[m.type] ?? "embeddings"}`} className="underline underline-offset-4">
          Docs<span className="sr-only"> for {m.id}</span>
        </Link>
      ),
  },
];
