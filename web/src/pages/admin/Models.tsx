import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";

import { client, reportError, unwrap } from "@/api/client";
import type { components } from "@/api/schema";
import { Field } from "@/components/Field";
import { Empty, Failed, Loading } from "@/components/States";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { dateTime } from "@/lib/format";
import { notify } from "@/lib/toast";

const MODELS = ["admin", "models"] as const;

type Model = components["schemas"]["ModelOut"];
type Price = components["schemas"]["PriceOut"];

function priceText(price: Price): string {
  if (price.unit === "images") {
    const sizes = Object.entries(price.usd_per_image_by_size);
    if (sizes.length > 0) return sizes.map(([size, usd]) => `$${usd} per ${size} image`).join(", ");
    return `$${price.usd_per_image} per image`;
  }
  if (price.unit === "audio_seconds") return `$${price.usd_per_minute} per audio minute (billed per second)`;
  if (price.unit === "characters") return `$${price.input_usd_per_million} per 1M characters`;
  return `$${price.input_usd_per_million} in / $${price.output_usd_per_million} out per 1M tokens`;
}

type PriceBody = components["schemas"]["PriceChange"];
type PriceField = { name: "input" | "output" | "per_minute" | "per_image"; label: string; step: string; value: string };

/** The fields a model's price is set by, as its unit is metered (the API refuses the others). */
function priceFields(price: Price): PriceField[] {
  if (price.unit === "images")
    return [{ name: "per_image", label: "Per image (USD)", step: "0.000000001", value: price.usd_per_image }];
  if (price.unit === "audio_seconds")
    return [{ name: "per_minute", label: "USD / audio minute", step: "0.00000006", value: price.usd_per_minute ?? "" }];
  const input = { name: "input", step: "0.001", value: price.input_usd_per_million } as const;
  if (price.unit === "characters") return [{ ...input, label: "USD / 1M characters" }];
  return [
    { ...input, label: "Input (USD / 1M)" },
    { name: "output", label: "Output (USD / 1M)", step: "0.001", value: price.output_usd_per_million },
  ];
}

/** A new price from a moment on (now when left empty); past usage keeps what it cost. */
function SchedulePrice({ model }: { model: Model }) {
  const queryClient = useQueryClient();
  const schedule = useMutation({
    mutationFn: (body: PriceBody) =>
      unwrap(client.POST("/api/admin/models/{model_id}/prices", { params: { path: { model_id: model.id } }, body })),
    onSuccess: async () => {
      await queryClient.invalidateQueries({ queryKey: MODELS });
      notify.good(`Price of ${model.name} saved.`);
    },
    onError: reportError,
  });
  const fields = priceFields(model.price);
  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const from = String(form.get("effective_from") ?? "");
    const body: PriceBody = Object.fromEntries(fields.map(({ name }) => [name, String(form.get(name))]));
    // An image model's prices by size carry over; its price per image changes here.
    const sizes = model.price.usd_per_image_by_size;
    if (Object.keys(sizes).length > 0) body.per_image_by_size = sizes;
    // datetime-local is the browser's local time; the API wants an offset.
    schedule.mutate({ ...body, effective_from: from ? new Date(from).toISOString() : null });
  };
  return (
    <form
      onSubmit={submit}
      aria-label={`Change the price of ${model.name}`}
      className="grid gap-2 sm:grid-cols-[1fr_1fr_1.5fr_auto] sm:items-end"
    >
      {fields.map((field) => (
        <Field
          key={field.name}
          label={field.label}
          name={field.name}
          type="number"
          min={0}
          step={field.step}
          defaultValue={field.value}
          required
        />
      ))}
      {fields.length === 1 && <span />}
      <Field label="From (empty: now)" name="effective_from" type="datetime-local" />
      <Button type="submit" variant="outline" disabled={schedule.isPending}>
        Save price
      </Button>
    </form>
  );
}

function ModelRow({ model }: { model: Model }) {
  const queryClient = useQueryClient();
  const [editing, setEditing] = useState(false);
  const cancel = async (price: Price) => {
    if (price.id === null) return;
    try {
      await unwrap(
        client.DELETE("/api/admin/models/{model_id}/prices/{price_id}", {
          params: { path: { model_id: model.id, price_id: price.id } },
        }),
      );
      await queryClient.invalidateQueries({ queryKey: MODELS });
      notify.good("Scheduled price withdrawn.");
    } catch (error) {
      reportError(error);
    }
  };
  return (
    <li className="grid gap-2 py-3 text-sm">
      <div className="flex flex-wrap items-center justify-between gap-2">
        <span className="flex items-center gap-2">
          <span className="font-medium">{model.name}</span>
          <code className="text-muted-foreground text-xs">{model.internal_name}</code>
          <Badge variant="outline">{model.kind}</Badge>
          {!model.active && <Badge variant="secondary">inactive</Badge>}
        </span>
        <span className="flex items-center gap-2">
          <span>Now: {priceText(model.price)}</span>
          <Button variant="ghost" size="sm" aria-expanded={editing} onClick={() => setEditing(!editing)}>
            {editing ? "Close" : "Change price"}
          </Button>
        </span>
      </div>
      {model.scheduled.length > 0 && (
        <ul className="text-muted-foreground grid gap-1" aria-label={`Scheduled prices of ${model.name}`}>
          {model.scheduled.map((price) => (
            <li key={price.id} className="flex flex-wrap items-center gap-2">
              From {dateTime(price.effective_from)}: {priceText(price)}
              <Button variant="ghost" size="sm" onClick={() => void cancel(price)}>
                Withdraw
              </Button>
            </li>
          ))}
        </ul>
      )}
      {editing && <SchedulePrice model={model} />}
    </li>
  );
}

export function Models() {
  const models = useQuery({ queryKey: MODELS, queryFn: () => unwrap(client.GET("/api/admin/models")) });
  return (
    <Card>
      <CardHeader>
        <CardTitle>Models and prices</CardTitle>
        <CardDescription>
          The price in force now and the changes scheduled; customers see them on the landing page.
        </CardDescription>
      </CardHeader>
      <CardContent>
        {models.isPending ? (
          <Loading label="Loading models" />
        ) : models.isError ? (
          <Failed message="Could not load models." />
        ) : models.data.length === 0 ? (
          <Empty title="No models." />
        ) : (
          <ul className="divide-y" aria-label="Models">
            {models.data.map((model) => (
              <ModelRow key={model.id} model={model} />
            ))}
          </ul>
        )}
      </CardContent>
    </Card>
  );
}
