import { describe, expect, it } from "vitest";

import { ago, dollarsToNanos, usd } from "./format";

describe("money", () => {
  it("shows cents, and more digits only for amounts below a cent", () => {
    expect(usd(0)).toBe("$0.00");
    expect(usd(1_234_500_000_000)).toBe("$1,234.50");
    expect(usd(50)).toBe("$0.00000005");
    expect(usd(1_500_000)).toBe("$0.0015");
    expect(usd(-100)).toBe("-$0.0000001");
    expect(usd(-2_500_000_000)).toBe("-$2.50");
  });

  it("turns typed dollars into nano-dollars exactly", () => {
    expect(dollarsToNanos("12.34")).toBe(12_340_000_000);
    expect(dollarsToNanos("0.1")).toBe(100_000_000);
  });
});

describe("time ago", () => {
  const now = Date.parse("2026-01-22T12:00:00Z");
  it("counts minutes, then hours, then gives the date", () => {
    expect(ago("2026-01-22T11:59:30Z", now)).toBe("just now");
    expect(ago("2026-01-22T11:58:00Z", now)).toBe("2 min ago");
    expect(ago("2026-01-22T11:00:00Z", now)).toBe("1 hour ago");
    expect(ago("2026-01-22T02:00:00Z", now)).toBe("10 hours ago");
    expect(ago("2026-01-20T12:00:00Z", now)).toBe(new Date("2026-01-20T12:00:00Z").toLocaleDateString());
  });
});
