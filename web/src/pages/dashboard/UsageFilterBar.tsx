import { useQuery } from "@tanstack/react-query";

import { client, unwrap } from "@/api/client";
import { queryKeys, useModels } from "@/api/hooks";
import { Field } from "@/components/Field";
import { SelectField } from "@/components/SelectField";
import { Button } from "@/components/ui/button";

import { defaultFilters, type UsageFilters } from "./usageFilters";
import { useOrgId } from "./useOrg";

const STATUSES = [
  { value: "", label: "Any" },
  { value: "200", label: "200 OK" },
  { value: "400", label: "400 Bad request" },
  { value: "401", label: "401 Unauthorised" },
  { value: "402", label: "402 Out of credit" },
  { value: "404", label: "404 Not found" },
  { value: "429", label: "429 Rate limited" },
  { value: "500", label: "500 Server error" },
  { value: "502", label: "502 Upstream error" },
  { value: "503", label: "503 Unavailable" },
  { value: "504", label: "504 Timeout" },
];

interface Props {
  value: UsageFilters;
  onChange: (filters: UsageFilters) => void;
  days: number;
}

export function UsageFilterBar({ value, onChange, days }: Props) {
  const orgId = useOrgId();
  const models = useModels();
  const keys = useQuery({
    queryKey: queryKeys.keys(orgId),
    queryFn: () => unwrap(client.GET("/api/orgs/{org_id}/keys", { params: { path: { org_id: orgId } } })),
  });
  const set = (change: Partial<UsageFilters>) => onChange({ ...value, ...change });
  return (
    <form
      aria-label="Filter usage"
      className="grid gap-3 sm:grid-cols-2 lg:grid-cols-[repeat(5,minmax(0,1fr))_auto] lg:items-end"
      onSubmit={(event) => event.preventDefault()}
    >
      <Field
        label="From"
        name="from"
        type="date"
        required
        value={value.from}
        max={value.to}
        onChange={(event) => event.target.value && set({ from: event.target.value })}
      />
      <Field
        label="To"
        name="to"
        type="date"
        required
        value={value.to}
        min={value.from}
        onChange={(event) => event.target.value && set({ to: event.target.value })}
      />
      <SelectField
        label="Model"
        name="model"
        value={value.model}
        onChange={(event) => set({ model: event.target.value })}
        options={[{ value: "", label: "All models" }, ...(models.data ?? []).map((m) => m.id)]}
      />
      <SelectField
        label="API key"
        name="key"
        value={value.keyId}
        onChange={(event) => set({ keyId: event.target.value })}
        options={[{ value: "", label: "All keys" }, ...(keys.data ?? []).map((k) => ({ value: k.id, label: k.name }))]}
      />
      <SelectField
        label="Status"
        name="status"
        value={value.status}
        onChange={(event) => set({ status: event.target.value })}
        options={STATUSES}
      />
      <Button type="button" variant="ghost" onClick={() => onChange(defaultFilters(days))}>
        Reset
      </Button>
    </form>
  );
}
