import { describe, expect, it } from "vitest";

import type { Deployment } from "@/api/compute";
import { pollInterval, runway } from "@/api/compute";
import { duration } from "@/lib/format";

import { liveCost } from "./cost";

const READY_AT = Date.parse("2026-01-22T10:30:00Z");
const PER_HOUR = 3_600_000_000; // $3.60/hr: a millionth of a dollar per millisecond, 1e6 nanos a second

function deployment(overrides: Partial<Deployment> = {}): Deployment {
  return {
    state: "ready",
    ready_at: new Date(READY_AT).toISOString(),
    price_nanos_per_hour: PER_HOUR,
    runtime_seconds: 60,
    cost_nanos: 60_000_000,
    ...overrides,
  } as Deployment;
}

describe("live cost", () => {
  it("adds nothing inside the first minute, which is charged on ready", () => {
    const at = (s: number) => READY_AT + s * 1000;
    expect(liveCost(deployment(), at(10), at(50))).toEqual({ seconds: 60, nanos: 60_000_000 });
    expect(liveCost(deployment(), at(10), at(70))).toEqual({ seconds: 70, nanos: 70_000_000 });
  });

  it("counts the seconds since the server's last figure once past the minimum", () => {
    const d = deployment({ runtime_seconds: 118, cost_nanos: 118_000_000 });
    const at = (s: number) => READY_AT + s * 1000;
    expect(liveCost(d, at(120), at(150))).toEqual({ seconds: 148, nanos: 148_000_000 });
  });

  it("stands still when the deployment is not running", () => {
    const d = deployment({ state: "stopped", ready_at: null });
    expect(liveCost(d, READY_AT, READY_AT + 3_600_000)).toEqual({ seconds: 60, nanos: 60_000_000 });
  });

  it("formats running times", () => {
    expect(duration(40)).toBe("40s");
    expect(duration(125)).toBe("2m 5s");
    expect(duration(4 * 3600 + 23 * 60)).toBe("4h 23m");
  });
});

describe("polling", () => {
  it("is fast while a deployment moves, slower while one runs, off when all rest", () => {
    expect(pollInterval(["ready", "starting"])).toBe(2_000);
    expect(pollInterval(["ready", "stopped"])).toBe(10_000);
    expect(pollInterval(["stopped", "failed"])).toBe(false);
  });
});

describe("runway", () => {
  it("is the minutes the balance pays for at the hourly price of what is ready", () => {
    const running = [
      deployment({ price_nanos_per_hour: 1_990_000_000 }),
      deployment({ price_nanos_per_hour: 350_000_000 }),
      deployment({ state: "starting", price_nanos_per_hour: 5_000_000_000 }),
    ];
    // $1.17 at $2.34/hr: half an hour.
    expect(runway(1_170_000_000, running)).toEqual({ perHour: 2_340_000_000, minutes: 30 });
    expect(runway(-5, running)?.minutes).toBe(0);
  });

  it("is none when nothing is charged", () => {
    expect(runway(0, [deployment({ state: "stopped" })])).toBeNull();
  });
});
