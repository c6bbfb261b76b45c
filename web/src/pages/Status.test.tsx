import { screen } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";

import type { StatusPage } from "@/api/types";
import { renderApp } from "@/test/render";

import { Status } from "./Status";

const PAGE: StatusPage = {
  status: "partial_outage",
  description: "Some systems are down",
  updated_at: "2025-01-02T00:00:00Z",
  services: [
    {
      id: 1,
      key: "gateway",
      name: "Gateway API",
      description: "The OpenAI-compatible API",
      status: "partial_outage",
      latency_ms: 12,
      updated_at: "2025-01-02T00:00:00Z",
      uptime_percent: 99.5,
      uptime: [
        { date: "2025-01-01", uptime: 1, status: "operational" },
        { date: "2025-01-02", uptime: 0.99, status: "partial_outage" },
      ],
      response_times: [],
    },
  ],
  servers: [],
  incidents: [
    {
      id: 7,
      title: "Elevated errors on gpt-fast",
      status: "monitoring",
      severity: "high",
      service_id: 1,
      service: "Gateway API",
      automatic: false,
      created_at: "2025-01-02T00:00:00Z",
      updated_at: "2025-01-02T01:00:00Z",
      resolved_at: null,
      updates: [{ id: 2, status: "monitoring", message: "A fix is rolling out.", created_at: "2025-01-02T01:00:00Z" }],
    },
  ],
};

function serve(response: () => Response) {
  vi.stubGlobal(
    "fetch",
    vi.fn(async () => response()),
  );
}

afterEach(() => vi.unstubAllGlobals());

describe("Status page", () => {
  it("shows the banner, uptime bars, empty server list and incident updates", async () => {
    serve(() => Response.json(PAGE));
    renderApp(<Status />);
    expect(await screen.findByText("Some systems are down")).toBeInTheDocument();
    expect(screen.getByRole("img", { name: "Gateway API: 2-day uptime" })).toBeInTheDocument();
    expect(screen.getByText("99.50% uptime")).toBeInTheDocument();
    expect(screen.getByText("No inference servers are registered.")).toBeInTheDocument();
    expect(screen.getByText("Elevated errors on gpt-fast")).toBeInTheDocument();
    expect(screen.getByText("A fix is rolling out.")).toBeInTheDocument();
  });

  it("says so when status cannot be loaded", async () => {
    serve(() => Response.json({ error: { code: "internal_error", message: "boom", param: null } }, { status: 500 }));
    renderApp(<Status />);
    expect(await screen.findByRole("alert")).toHaveTextContent("Status is unavailable right now.");
  });

  it("shows a loading state first", () => {
    serve(() => Response.json(PAGE));
    renderApp(<Status />);
    expect(screen.getByRole("status", { name: "Loading status" })).toBeInTheDocument();
  });
});
