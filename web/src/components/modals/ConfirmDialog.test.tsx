import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { useEffect } from "react";
import { afterEach, describe, expect, it, vi } from "vitest";

import { ApiError } from "@/api/client";
import { ME, renderApp } from "@/test/render";

import { useModal, type ConfirmOptions } from "./ModalContext";

function OpenConfirm({ options }: { options: ConfirmOptions }) {
  const { open } = useModal();
  useEffect(() => open({ kind: "confirm", options }), [open, options]);
  return null;
}

afterEach(() => vi.unstubAllGlobals());

describe("Confirm Action", () => {
  it("runs the action and closes", async () => {
    const user = userEvent.setup();
    const onConfirm = vi.fn(async () => {});
    renderApp(
      <OpenConfirm
        options={{ title: "Revoke “ci”?", description: "Gone for good.", confirmLabel: "Revoke key", onConfirm }}
      />,
      { me: ME },
    );
    await user.click(await screen.findByRole("button", { name: "Revoke key" }));
    expect(onConfirm).toHaveBeenCalledOnce();
    await waitFor(() => expect(screen.queryByRole("dialog")).toBeNull());
  });

  it("asks for the password when the server wants a fresh confirmation, then retries", async () => {
    const user = userEvent.setup();
    const onConfirm = vi
      .fn<() => Promise<void>>()
      .mockRejectedValueOnce(new ApiError(403, "reauthentication_required", "Confirm it's you first."))
      .mockResolvedValueOnce();
    const confirmations: unknown[] = [];
    vi.stubGlobal(
      "fetch",
      vi.fn(async (request: Request) => {
        confirmations.push(await request.json());
        return Response.json({ confirmed_until: "2030-01-01T00:00:00Z" });
      }),
    );
    renderApp(
      <OpenConfirm options={{ title: "Revoke?", description: "Sure?", confirmLabel: "Revoke key", onConfirm }} />,
      { me: ME },
    );
    await user.click(await screen.findByRole("button", { name: "Revoke key" }));
    const password = await screen.findByLabelText("Confirm with your password");
    await user.type(password, "correct horse battery");
    await user.click(screen.getByRole("button", { name: "Revoke key" }));
    await waitFor(() => expect(screen.queryByRole("dialog")).toBeNull());
    expect(confirmations).toEqual([{ password: "correct horse battery" }]);
    expect(onConfirm).toHaveBeenCalledTimes(2);
  });
});
