import { duration, usd } from "@/lib/format";

/** An audit entry as the activity feed reads it. */
export interface AuditEntry {
  id: number;
  action: string;
  target_id: string;
  data: Record<string, unknown>;
  created_at: string;
}

/** A ledger line as the activity feed reads it. */
export interface LedgerLine {
  id: string;
  kind: string;
  amount_nanos: number;
  at: string;
}

export interface Activity {
  id: string;
  at: string;
  text: string;
}

const DEPLOYMENT_VERBS: Record<string, string> = {
  "deployment.create": "created",
  "deployment.start": "started",
  "deployment.stop": "stopped",
  "deployment.delete": "deleted",
};

const CREDIT_SOURCES: Record<string, string> = {
  topup: "card payment",
  auto_refill: "auto-refill",
  crypto: "crypto payment",
  plan_credit: "plan credit",
  grant: "credit grant",
  welcome: "welcome credit",
  refund: "refund",
};

/** What an audit entry says in the feed, or null for entries the feed leaves out. */
function describe(entry: AuditEntry): string | null {
  const name = typeof entry.data.name === "string" ? entry.data.name : entry.target_id;
  const verb = DEPLOYMENT_VERBS[entry.action];
  if (verb) return `${name} deployment ${verb}`;
  if (entry.action === "pod.terminated") {
    const seconds = Number(entry.data.runtime_seconds ?? 0);
    const cost = Number(entry.data.cost_nanos ?? 0);
    return `${name} pod terminated after ${duration(seconds)} (${usd(cost)})`;
  }
  return null;
}

/** The newest `limit` things that happened: deployments created, started, stopped or
deleted and pods terminated (from the audit log), and money added to the balance (from the
ledger). */
export function recentActivity(audit: AuditEntry[], ledger: LedgerLine[], limit: number): Activity[] {
  const deployments = audit.flatMap((entry): Activity[] => {
    const text = describe(entry);
    return text === null ? [] : [{ id: `audit:${entry.id}`, at: entry.created_at, text }];
  });
  const credits = ledger
    .filter((line) => line.amount_nanos > 0)
    .map((line) => {
      const source = CREDIT_SOURCES[line.kind];
      return {
        id: `ledger:${line.id}`,
        at: line.at,
        text: `Added ${usd(line.amount_nanos)} to balance${source ? ` (${source})` : ""}`,
      };
    });
  return [...deployments, ...credits].sort((a, b) => Date.parse(b.at) - Date.parse(a.at)).slice(0, limit);
}
