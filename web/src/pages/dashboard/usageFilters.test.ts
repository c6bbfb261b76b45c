import { describe, expect, it } from "vitest";

import { dayCount, defaultFilters, logQuery, periodOf, searchOf } from "./usageFilters";

const NOW = new Date("2025-03-10T15:30:00Z");

describe("usage filters", () => {
  it("defaults to the last 30 days including today, in UTC", () => {
    const filters = defaultFilters(30, NOW);
    expect(filters).toEqual({ from: "2025-02-09", to: "2025-03-10", model: "", keyId: "", status: "" });
    expect(dayCount(filters)).toBe(30);
  });

  it("turns whole days into the API's half-open range", () => {
    expect(periodOf({ from: "2025-02-28", to: "2025-03-01" })).toEqual({
      start: "2025-02-28T00:00:00.000Z",
      end: "2025-03-02T00:00:00.000Z",
    });
  });

  it("sends only the filters that are set", () => {
    const all = defaultFilters(7, NOW);
    expect(logQuery(all)).toEqual(periodOf(all));
    const narrowed = logQuery({ ...all, model: "gpt-fast", keyId: "k1", status: "429" });
    expect(narrowed).toMatchObject({ model: "gpt-fast", key_id: "k1", status: 429 });
    expect(searchOf(narrowed)).toBe(
      "start=2025-03-04T00%3A00%3A00.000Z&end=2025-03-11T00%3A00%3A00.000Z&model=gpt-fast&key_id=k1&status=429",
    );
  });
});
