import { render, screen, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";

import { ScrollTable } from "./ScrollTable";

describe("ScrollTable", () => {
  it("is a focusable, labelled region holding a captioned table, numeric columns right-aligned", () => {
    render(
      <ScrollTable
        label="Audit log entries"
        caption="Audit log, newest first"
        columns={[{ name: "When" }, { name: "Cost", numeric: true }]}
      >
        <tr>
          <td>yesterday</td>
          <td>$1.00</td>
        </tr>
      </ScrollTable>,
    );
    const region = screen.getByRole("region", { name: "Audit log entries" });
    expect(region).toHaveAttribute("tabindex", "0");
    const table = within(region).getByRole("table", { name: "Audit log, newest first" });
    expect(within(table).getAllByRole("row")).toHaveLength(2);
    const [when, cost] = within(table).getAllByRole("columnheader");
    expect(when).toHaveTextContent("When");
    expect(when).not.toHaveClass("text-right");
    expect(cost).toHaveTextContent("Cost");
    expect(cost).toHaveClass("text-right");
    expect(
      within(table)
        .getAllByRole("cell")
        .map((cell) => cell.textContent),
    ).toEqual(["yesterday", "$1.00"]);
  });
});
