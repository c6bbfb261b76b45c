import { describe, expect, it } from "vitest";

import { dollarsToNanos, usd } from "./format";

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
