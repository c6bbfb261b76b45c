import { useState } from "react";

import type { CatalogEntry } from "@/api/compute";
import { useModels } from "@/api/hooks";
import { Field } from "@/components/Field";
import { SelectField } from "@/components/SelectField";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { count, usd } from "@/lib/format";

import { compare, HOURS_PER_MONTH } from "./comparison";

function millions(text: string): number {
  const value = Number(text);
  return Number.isFinite(value) && value > 0 ? value : 0;
}

/** GPU-hour pricing against the token API at the monthly volume the person sets. */
export function CostComparison({ entries }: { entries: CatalogEntry[] }) {
  const chat = entries.filter((entry) => entry.category === "chat");
  const { data: models } = useModels();
  const [slug, setSlug] = useState(chat[0]?.slug ?? "");
  const [input, setInput] = useState("300");
  const [output, setOutput] = useState("100");
  const entry = chat.find((e) => e.slug === slug) ?? chat[0];
  if (!entry) return null;
  const tokenModels = (models ?? [])
    .filter((m) => m.owned_by === "platform" && m.type === "chat")
    .map((m) => ({ id: m.id, input: m.pricing.input, output: m.pricing.output }));
  const volume = { inputMillions: millions(input), outputMillions: millions(output) };
  const result = compare(entry.price_nanos_per_hour, volume, tokenModels);
  return (
    <Card>
      <CardHeader>
        <CardTitle>Cost comparison</CardTitle>
        <CardDescription>
          A deployment running all month ({HOURS_PER_MONTH} h) against per-token prices at your monthly volume.
        </CardDescription>
      </CardHeader>
      <CardContent className="grid gap-4">
        <div className="grid gap-3 sm:grid-cols-3 sm:items-end">
          <SelectField
            label="Deployment"
            value={entry.slug}
            onChange={(event) => setSlug(event.target.value)}
            options={chat.map((e) => ({ value: e.slug, label: `${e.name} (${usd(e.price_nanos_per_hour)}/hr)` }))}
          />
          <Field
            label="Input tokens a month (millions)"
            type="number"
            min={0}
            step="any"
            value={input}
            onChange={(event) => setInput(event.target.value)}
          />
          <Field
            label="Output tokens a month (millions)"
            type="number"
            min={0}
            step="any"
            value={output}
            onChange={(event) => setOutput(event.target.value)}
          />
        </div>
        <div className="overflow-x-auto" tabIndex={0} role="region" aria-label="Cost comparison table">
          <table className="w-full text-sm" data-testid="cost-comparison">
            <caption className="sr-only">Monthly cost of the deployment and of each token-priced model</caption>
            <thead className="text-muted-foreground text-left">
              <tr>
                <th className="py-2 pr-4 font-medium">Option</th>
                <th className="py-2 pr-4 text-right font-medium">Per month</th>
                <th className="py-2 text-right font-medium">Deployment cheaper from</th>
              </tr>
            </thead>
            <tbody className="divide-y">
              <tr>
                <td className="py-2 pr-4">
                  {entry.name}, {usd(entry.price_nanos_per_hour)}/hr
                  {result.gpuPerMillionNanos !== null && (
                    <span className="text-muted-foreground block text-xs">
                      ≈ {usd(result.gpuPerMillionNanos)} per 1M tokens at this volume
                    </span>
                  )}
                </td>
                <td className="py-2 pr-4 text-right font-semibold whitespace-nowrap tabular-nums">
                  {usd(result.gpuMonthlyNanos)}
                </td>
                <td className="py-2 text-right">—</td>
              </tr>
              {result.tokens.map((row) => (
                <tr key={row.id}>
                  <td className="py-2 pr-4">
                    Token API <code>{row.id}</code>
                  </td>
                  <td className="py-2 pr-4 text-right whitespace-nowrap tabular-nums">{usd(row.monthlyNanos)}</td>
                  <td className="py-2 text-right whitespace-nowrap tabular-nums">
                    {row.breakEvenMillions === null ? "never" : `${count(Math.ceil(row.breakEvenMillions))}M tokens`}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        <p className="text-muted-foreground text-xs">
          Assumes one deployment keeps up with the volume; what it serves depends on the model and the prompts. The
          break-even keeps your mix of input and output tokens.
        </p>
      </CardContent>
    </Card>
  );
}
