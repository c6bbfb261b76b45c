import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { useEffect } from "react";
import { afterEach, describe, expect, it, vi } from "vitest";

import { notify } from "@/lib/toast";
import { ME, renderApp } from "@/test/render";

import { useModal } from "./ModalContext";

function OpenContact() {
  const { open } = useModal();
  useEffect(() => open({ kind: "contact" }), [open]);
  return null;
}

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllGlobals();
});

function stubContact(response: Response) {
  const sent: { url: string; body: unknown }[] = [];
  vi.stubGlobal(
    "fetch",
    vi.fn(async (request: Request) => {
      sent.push({ url: new URL(request.url).pathname, body: await request.json() });
      return response;
    }),
  );
  return sent;
}

describe("Contact Us", () => {
  it("posts the message, thanks the sender and closes", async () => {
    const user = userEvent.setup();
    const good = vi.spyOn(notify, "good");
    const sent = stubContact(Response.json({ id: 7, received_at: "2025-01-01T00:00:00Z" }, { status: 202 }));
    renderApp(<OpenContact />, { me: ME });
    // Signed in: name and address are filled in from the account.
    expect(await screen.findByLabelText("Email")).toHaveValue("ada@example.com");
    await user.type(screen.getByLabelText("Message"), "Can I raise my limits?");
    await user.click(screen.getByRole("button", { name: "Send message" }));
    await waitFor(() => expect(screen.queryByRole("dialog")).toBeNull());
    expect(sent).toEqual([
      { url: "/api/contact", body: { name: "Ada", email: "ada@example.com", message: "Can I raise my limits?" } },
    ]);
    expect(good).toHaveBeenCalledWith("Message sent.", "We will answer by email.");
  });

  it("keeps the form open and says why when the server refuses", async () => {
    const user = userEvent.setup();
    const warn = vi.spyOn(notify, "warn");
    stubContact(
      Response.json(
        { error: { code: "too_many_attempts", message: "Too many attempts. Try again in 60 seconds.", param: null } },
        { status: 429, headers: { "Retry-After": "60" } },
      ),
    );
    renderApp(<OpenContact />);
    await user.type(await screen.findByLabelText("Name"), "Grace");
    await user.type(screen.getByLabelText("Email"), "grace@example.com");
    await user.type(screen.getByLabelText("Message"), "Hello");
    await user.click(screen.getByRole("button", { name: "Send message" }));
    await waitFor(() => expect(warn).toHaveBeenCalledWith("Too many attempts. Try again in 60 seconds."));
    expect(screen.getByRole("dialog", { name: "Contact us" })).toBeInTheDocument();
  });
});
