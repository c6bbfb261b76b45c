import { Link } from "react-router-dom";

import { Failed, Loading } from "@/components/States";
import { Badge } from "@/components/ui/badge";
import { cn } from "@/lib/utils";

import { barColor, STATUS_LABEL, STATUS_TONE, type ServiceStatus } from "./statusTone";
import { useStatus } from "./useStatus";

export function StatusBanner({ status, description }: { status: ServiceStatus; description: string }) {
  const tone = STATUS_TONE[status];
  return (
    <div
      role="status"
      className={cn(
        "flex items-center gap-3 rounded-lg border p-4",
        tone === "good" && "border-good/40 bg-good/10",
        tone === "warn" && "border-warn/50 bg-warn/10",
        tone === "bad" && "border-bad/40 bg-bad/10",
      )}
    >
      <span aria-hidden className={cn("size-3 rounded-full", barColor(status))} />
      <span className="font-medium">{description || STATUS_LABEL[status]}</span>
    </div>
  );
}

/** The overall status and each service's state, linking to the full page. */
export function StatusSummary() {
  const { data, isPending, isError } = useStatus();
  if (isPending) return <Loading label="Loading status" rows={2} />;
  if (isError) return <Failed message="Status is unavailable right now." />;
  return (
    <div className="grid gap-4">
      <StatusBanner status={data.status} description={data.description} />
      <ul className="grid gap-2 sm:grid-cols-2 lg:grid-cols-3">
        {data.services.map((service) => (
          <li key={service.id} className="flex items-center justify-between rounded-md border px-3 py-2 text-sm">
            {service.name}
            <Badge variant={STATUS_TONE[service.status]}>{STATUS_LABEL[service.status]}</Badge>
          </li>
        ))}
      </ul>
      <Link to="/status" className="text-sm underline underline-offset-4">
        Full status and incident history
      </Link>
    </div>
  );
}
