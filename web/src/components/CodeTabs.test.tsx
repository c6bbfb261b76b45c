import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";

import { chatExample } from "@/lib/examples";

import { CodeTabs } from "./CodeTabs";

describe("CodeTabs", () => {
  it("shows curl first and switches language with the keyboard", async () => {
    const user = userEvent.setup();
    render(<CodeTabs example={chatExample("https://api.example.test")} />);
    expect(screen.getByRole("tabpanel")).toHaveTextContent("curl https://api.example.test/v1/chat/completions");
    await user.click(screen.getByRole("tab", { name: "curl" }));
    await user.keyboard("{ArrowRight}");
    expect(screen.getByRole("tab", { name: "Python" })).toHaveAttribute("aria-selected", "true");
    expect(screen.getByRole("tabpanel")).toHaveTextContent('base_url="https://api.example.test/v1"');
  });

  it("copies the visible example", async () => {
    const user = userEvent.setup();
    const writeText = vi.spyOn(navigator.clipboard, "writeText");
    const example = chatExample("https://api.example.test");
    render(<CodeTabs example={example} />);
    await user.click(screen.getByRole("tab", { name: "JavaScript" }));
    await user.click(screen.getByRole("button", { name: "Copy code" }));
    expect(writeText).toHaveBeenCalledWith(example.javascript);
  });
});
