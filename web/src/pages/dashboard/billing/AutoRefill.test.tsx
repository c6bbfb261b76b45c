import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";

import type { components } from "@/api/schema";
import { ME, renderApp } from "@/test/render";

import { AutoRefillForm } from "./AutoRefill";

type Overview = components["schemas"]["BillingOverview"];

const OVERVIEW: Overview = {
  balance_nanos: 3_000_000_000,
  balance_usd: "3.00",
  open_holds_nanos: 0,
  open_holds_usd: "0.00",
  payments_configured: true,
  crypto_configured: false,
  publishable_key: null,
  topup_presets_usd: [10, 25, 50, 100],
  topup_min_usd: 5,
  topup_max_usd: 1000,
  card: null,
  auto_refill: {
    enabled: false,
    threshold_nanos: 0,
    threshold_usd: "0.00",
    amount_nanos: 0,
    amount_usd: "0.00",
    monthly_cap_nanos: null,
    monthly_cap_usd: null,
    refilled_this_month_usd: "0.00",
    disabled_reason: "",
    in_flight: false,
  },
  low_balance_threshold_nanos: 5_000_000_000,
  low_balance_threshold_usd: "5.00",
  balance_state: "low",
  running_nanos_per_hour: 0,
  hours_left: null,
};

function renderForm(overview: Overview) {
  return renderApp(<AutoRefillForm overview={overview} />, { me: ME });
}

afterEach(() => vi.unstubAllGlobals());

describe("Auto-refill", () => {
  it("explains that a saved card is needed before it can be switched on", () => {
    renderForm(OVERVIEW);
    expect(screen.getByText(/No saved card\. To use auto-refill/)).toBeInTheDocument();
    expect(screen.getByRole("checkbox", { name: "Refill automatically" })).toBeDisabled();
  });

  it("shows why the platform switched it off", () => {
    renderForm({
      ...OVERVIEW,
      card: { label: "visa •••• 4242", consent_at: "2025-01-01T00:00:00Z" },
      auto_refill: { ...OVERVIEW.auto_refill, disabled_reason: "the card was declined" },
    });
    expect(screen.getByRole("alert")).toHaveTextContent("Auto-refill was switched off: the card was declined");
  });

  it("saves the settings as dollar strings, with no cap when the cap is empty", async () => {
    const user = userEvent.setup();
    const sent: unknown[] = [];
    const withCard = { ...OVERVIEW, card: { label: "visa •••• 4242", consent_at: null } };
    vi.stubGlobal(
      "fetch",
      vi.fn(async (request: Request) => {
        sent.push(await request.json());
        return Response.json({ ...withCard, auto_refill: { ...withCard.auto_refill, enabled: true } });
      }),
    );
    renderForm(withCard);
    await user.click(screen.getByRole("checkbox", { name: "Refill automatically" }));
    await user.clear(screen.getByLabelText("When the balance falls below (USD)"));
    await user.type(screen.getByLabelText("When the balance falls below (USD)"), "10");
    await user.clear(screen.getByLabelText("Add (USD)"));
    await user.type(screen.getByLabelText("Add (USD)"), "25");
    await user.click(screen.getByRole("button", { name: "Save auto-refill" }));
    await waitFor(() => expect(sent).toHaveLength(1));
    expect(sent[0]).toEqual({ enabled: true, threshold_usd: "10.00", amount_usd: "25.00", monthly_cap_usd: null });
  });
});
