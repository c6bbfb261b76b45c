import { describe, expect, it } from "vitest";

import { recentActivity, type AuditEntry, type LedgerLine } from "./activity";

const audit = (id: number, action: string, at: string, data: Record<string, unknown> = {}): AuditEntry => ({
  id,
  action,
  target_id: "dep_abc123",
  data,
  created_at: at,
});

const line = (id: string, kind: string, amount: number, at: string): LedgerLine => ({
  id,
  kind,
  amount_nanos: amount,
  at,
});

describe("recent activity", () => {
  it("merges deployment changes, pod terminations and credits, newest first, and leaves out the rest", () => {
    const items = recentActivity(
      [
        audit(3, "deployment.start", "2026-01-22T10:30:00Z", { name: "llama-70b" }),
        audit(2, "key.create", "2026-01-22T10:20:00Z"),
        audit(4, "pod.terminated", "2026-01-22T09:30:00Z", {
          name: "training",
          runtime_seconds: 2 * 3600 + 14 * 60,
          cost_nanos: 1_250_000_000,
        }),
        audit(1, "deployment.stop", "2026-01-22T09:00:00Z"),
      ],
      [
        line("entry:9", "topup", 50_000_000_000, "2026-01-22T10:15:00Z"),
        line("compute:2026-01-22:dep_abc123", "compute", -8_960_000_000, "2026-01-22T10:25:00Z"),
      ],
      5,
    );
    expect(items.map((item) => item.text)).toEqual([
      "llama-70b deployment started",
      "Added $50.00 to balance (card payment)",
      "training pod terminated after 2h 14m ($1.25)",
      "dep_abc123 deployment stopped",
    ]);
  });

  it("keeps the newest when there are more", () => {
    const items = recentActivity(
      [audit(1, "deployment.create", "2026-01-01T00:00:00Z", { name: "old" })],
      [line("entry:1", "grant", 1, "2026-01-02T00:00:00Z")],
      1,
    );
    expect(items).toHaveLength(1);
    expect(items[0]?.text).toBe("Added $0.000000001 to balance (credit grant)");
  });
});
