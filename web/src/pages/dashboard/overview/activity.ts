import { usd } from "@/lib/format";

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

/** The newest `limit` things that happened: deployments created, started, stopped or
deleted (from the audit log) and money added to the balance (from the ledger). */
export function recentActivity(audit: AuditEntry[], ledger: LedgerLine[], limit: number): Activity[] {
  const deployments = audit.flatMap((entry): Activity[] => {
    const verb = DEPLOYMENT_VERBS[entry.action];
    if (!verb) return [];
    const name = typeof entry.data.name === "string" ? entry.data.name : entry.target_id;
    return [{ id: `audit:${entry.id}`, at: entry.created_at, text: `${name} deployment ${verb}` }];
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
