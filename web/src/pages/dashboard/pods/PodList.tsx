import { Plus } from "lucide-react";
import { Link } from "react-router-dom";

import { gpuLabel } from "@/api/compute";
import { usePods, type Pod, type PodConnection } from "@/api/pods";
import { CopyButton } from "@/components/CodeTabs";
import { ListCard } from "@/components/ListCard";
import { Button } from "@/components/ui/button";
import { usd } from "@/lib/format";

import { useCanManage } from "../deployments/actions";
import { ComputeTableHead } from "../deployments/ComputeTableHead";
import { useOrg } from "../useOrg";
import { PodStateBadge, STOPPABLE, usePodActions } from "./actions";

const CLOUD_LABELS = { COMMUNITY: "Community", SECURE: "Secure" } as const;

/** Start, Stop and Terminate; Terminate asks first, since the volume goes too. */
function PodButtons({ pod }: { pod: Pod }) {
  const { stop, start, terminate } = usePodActions(pod);
  if (!useCanManage()) return null;
  const stoppable = STOPPABLE.has(pod.state);
  const startable = ["stopped", "failed"].includes(pod.state);
  return (
    <div className="flex flex-wrap gap-2">
      {stoppable && (
        <Button variant="outline" size="sm" onClick={() => void stop()} aria-label={`Stop ${pod.name}`}>
          Stop
        </Button>
      )}
      {startable && (
        <Button variant="outline" size="sm" onClick={() => void start()} aria-label={`Start ${pod.name}`}>
          Start
        </Button>
      )}
      {!["terminating", "terminated"].includes(pod.state) && (
        <Button variant="outline" size="sm" onClick={terminate} aria-label={`Terminate ${pod.name}`}>
          Terminate
        </Button>
      )}
    </div>
  );
}

function Detail({ label, value }: { label: string; value: string }) {
  return (
    <div className="grid grid-cols-[auto_minmax(0,1fr)_auto] items-center gap-2">
      <dt className="text-muted-foreground">{label}</dt>
      <dd className="min-w-0 font-mono text-xs break-all" data-testid={`pod-${label.toLowerCase()}`}>
        {value}
      </dd>
      <dd>
        <CopyButton text={value} label={`Copy ${label}`} />
      </dd>
    </div>
  );
}

/** How to reach a running pod: the ssh command, Jupyter and every other port. Outside the
table, so that on a phone the copy buttons are in view rather than a sideways scroll away. */
function Connection({ pod, connection }: { pod: Pod; connection: PodConnection }) {
  const others = connection.endpoints.filter((e) => e.port !== 22 && e.port !== 8888);
  return (
    <section aria-label={`How to reach ${pod.name}`} className="grid max-w-2xl gap-2">
      <h3 className="text-sm font-medium">Connect to {pod.name}</h3>
      <dl className="grid gap-1 text-sm">
        {connection.ssh && <Detail label="SSH" value={connection.ssh} />}
        {connection.jupyter && <Detail label="Jupyter" value={connection.jupyter} />}
        {others.map((endpoint) => {
          const address = endpoint.url ?? (endpoint.ip ? `${endpoint.ip}:${endpoint.public_port}` : null);
          return address && <Detail key={endpoint.port} label={`Port ${endpoint.port}`} value={address} />;
        })}
      </dl>
    </section>
  );
}

export function PodList() {
  return (
    <ListCard
      title={<h2>Custom pods</h2>}
      description="Your own containers on GPUs, billed per second while they run (minimum 1 minute per start); a volume is billed until the pod is terminated."
      action={
        <Button asChild size="sm">
          <Link to="/dashboard/pods/new">
            <Plus aria-hidden /> Create a pod
          </Link>
        </Button>
      }
      query={usePods(useOrg().id)}
      noun="pods"
      empty={<p>Create one to run any container image on a GPU, with SSH and Jupyter.</p>}
    >
      {(items) => (
        <div className="grid gap-6">
          {/* Contained and positioned, the table and its screen-reader labels scroll inside the
        card instead of widening the page on a phone. */}
          <div
            className="relative overflow-x-auto [contain:inline-size]"
            tabIndex={0}
            role="region"
            aria-label="Pods table"
          >
            <table className="w-full text-sm">
              <caption className="sr-only">
                Your pods with their state, GPUs, hourly price, cost so far and how to reach them
              </caption>
              <ComputeTableHead />
              {items.map((pod) => (
                <tbody key={pod.id} className="border-t" data-testid="pod-row">
                  <tr>
                    <td className="py-3 pr-4 align-top">
                      <span className="font-medium">{pod.name}</span>
                      <span className="text-muted-foreground block font-mono text-xs">{pod.image}</span>
                    </td>
                    <td className="py-3 pr-4 align-top">
                      <PodStateBadge pod={pod} />
                      {pod.state_reason && (
                        <span className="text-muted-foreground mt-1 block max-w-48 text-xs">{pod.state_reason}</span>
                      )}
                    </td>
                    <td className="py-3 pr-4 align-top whitespace-nowrap">
                      {gpuLabel(pod)}
                      <span className="text-muted-foreground block text-xs">
                        {CLOUD_LABELS[pod.cloud_type]}, {pod.storage_gb} GB
                      </span>
                    </td>
                    <td className="py-3 pr-4 text-right align-top whitespace-nowrap" data-testid="pod-price">
                      {usd(pod.price.nanos_per_hour)}
                    </td>
                    <td className="py-3 pr-4 text-right align-top whitespace-nowrap" data-testid="pod-cost">
                      {usd(pod.cost_nanos)}
                    </td>
                    <td className="py-3 align-top">
                      <PodButtons pod={pod} />
                    </td>
                  </tr>
                </tbody>
              ))}
            </table>
          </div>
          {items.map((pod) => pod.connection && <Connection key={pod.id} pod={pod} connection={pod.connection} />)}
        </div>
      )}
    </ListCard>
  );
}
