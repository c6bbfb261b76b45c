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

function priceText(price: Price, kind: string): string {
  if (kind === "image") {
    const sizes = Object.entries(price.usd_per_image_by_size);
    if (sizes.length > 0) return sizes.map(([size, usd]) => `$${usd} per ${size} image`).join(", ");
    return `$${price.usd_per_image} per image`;
  }
  return `$${price.input_usd_per_million} in / $${price.output_usd_per_million} out per 1M tokens`;
}

/** A new price from a moment on (now when left empty); past usage keeps what it cost. */
function SchedulePrice({ model }: { model: Model }) {
  const queryClient = useQueryClient();
  const schedule = useMutation({
    mutationFn: (body: components["schemas"]["PriceChange"]) =>
      unwrap(client.POST("/api/admin/models/{model_id}/prices", { params: { path: { model_id: model.id } }, body })),
    onSuccess: async () => {
      await queryClient.invalidateQueries({ queryKey: MODELS });
      notify.good(`Price of ${model.name} saved.`);
    },
    onError: reportError,
  });
  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const from = String(form.get("effective_from") ?? "");
    const image = model.kind === "image";
    schedule.mutate({
      input: image ? model.price.input_usd_per_million : String(form.get("input")),
      output: image ? model.price.output_usd_per_million : String(form.get("output")),
      // An image model's price per image changes here; its prices by size carry over.
      per_image: image ? String(form.get("per_image")) : model.price.usd_per_image,
      per_image_by_size: model.price.usd_per_image_by_size,
      // datetime-local is the browser's local time; the API wants an offset.
      effective_from: from ? new Date(from).toISOString() : null,
    });
  };
  return (
    <form
      onSubmit={submit}
      aria-label={`Change the price of ${model.name}`}
      className="grid gap-2 sm:grid-cols-[1fr_1fr_1.5fr_auto] sm:items-end"
    >
      {model.kind === "image" ? (
        <Field
          label="Per image (USD)"
          name="per_image"
          type="number"
          min={0}
          step="0.000000001"
          defaultValue={model.price.usd_per_image}
          required
        />
      ) : (
        <>
          <Field
            label="Input (USD / 1M)"
            name="input"
            type="number"
            min={0}
            step="0.001"
            defaultValue={model.price.input_usd_per_million}
            required
          />
          <Field
            label="Output (USD / 1M)"
            name="output"
            type="number"
            min={0}
            step="0.001"
            defaultValue={model.price.output_usd_per_million}
            required
          />
        </>
      )}
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
          <span>Now: {priceText(model.price, model.kind)}</span>
          <Button variant="ghost" size="sm" aria-expanded={editing} onClick={() => setEditing(!editing)}>
            {editing ? "Close" : "Change price"}
          </Button>
        </span>
      </div>
      {model.scheduled.length > 0 && (
        <ul className="text-muted-foreground grid gap-1" aria-label={`Scheduled prices of ${model.name}`}>
          {model.scheduled.map((price) => (
            <li key={price.id} className="flex flex-wrap items-center gap-2">
              From {dateTime(price.effective_from)}: {priceText(price, model.kind)}
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
