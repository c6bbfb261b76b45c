import { describe, expect, it } from "vitest";

import { hourLabel, summarise } from "./series";

const point = (requests: number, avg: number | null) => ({
  start: "2026-12-04T13:00:00Z",
  requests,
  avg_latency_ms: avg,
  completion_tokens: 0,
  tokens_per_second: null,
});

describe("summarise", () => {
  it("weighs each hour's latency by its requests", () => {
    expect(summarise([point(3, 100), point(0, null), point(1, 500)])).toEqual({ requests: 4, avgLatencyMs: 200 });
  });
  it("has no latency without requests", () => {
    expect(summarise([point(0, null)])).toEqual({ requests: 0, avgLatencyMs: null });
  });
});

describe("hourLabel", () => {
  it("shows the UTC hour", () => {
    expect(hourLabel("2026-12-04T07:00:00Z")).toBe("07:00");
  });
});
