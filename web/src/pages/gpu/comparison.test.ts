import { describe, expect, it } from "vitest";

import { compare, HOURS_PER_MONTH } from "./comparison";

const PER_HOUR = 1_990_000_000; // $1.99/hr
const MODELS = [
  { id: "gpt-fast", input: "0.10", output: "0.40" },
  { id: "free", input: "0", output: "0" },
];

describe("cost comparison", () => {
  it("sets a month of the deployment against the token prices at the same volume", () => {
    const result = compare(PER_HOUR, { inputMillions: 3000, outputMillions: 1000 }, MODELS);
    expect(result.gpuMonthlyNanos).toBe(PER_HOUR * HOURS_PER_MONTH); // $1,452.70
    expect(result.gpuPerMillionNanos).toBe(Math.round((PER_HOUR * HOURS_PER_MONTH) / 4000));
    const fast = result.tokens[0];
    expect(fast?.monthlyNanos).toBe(3000 * 100_000_000 + 1000 * 400_000_000); // $700
    // Blended $0.175 per 1M at a quarter output: the deployment pays off from ~8,301M tokens.
    expect(fast?.breakEvenMillions).toBeCloseTo((PER_HOUR * HOURS_PER_MONTH) / 175_000_000, 6);
    expect(result.tokens[1]?.breakEvenMillions).toBeNull();
  });

  it("has no per-token figure at no volume", () => {
    expect(compare(PER_HOUR, { inputMillions: 0, outputMillions: 0 }, MODELS).gpuPerMillionNanos).toBeNull();
  });
});
