import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { useEffect } from "react";
import { afterEach, describe, expect, it, vi } from "vitest";

import { notify } from "@/lib/toast";
import { renderApp } from "@/test/render";

import { useModal, type Modal } from "./ModalContext";

const auth = vi.hoisted(() => ({
  signInWithPassword: vi.fn(),
  signUp: vi.fn(),
  resetPasswordForEmail: vi.fn(),
}));
const createClient = vi.hoisted(() => vi.fn(() => ({ auth })));
vi.mock("@supabase/supabase-js", () => ({ createClient }));

const SUPABASE = {
  auth_provider: "supabase" as const,
  supabase_url: "https://project.supabase.test",
  supabase_anon_key: "anon-key",
};

function Open({ modal }: { modal: Modal }) {
  const { open } = useModal();
  useEffect(() => open(modal), [open, modal]);
  return null;
}

function stubApi() {
  const calls: string[] = [];
  vi.stubGlobal(
    "fetch",
    vi.fn(async (request: Request) => {
      calls.push(new URL(request.url).pathname);
      return Response.json({ authenticated: false, me: null });
    }),
  );
  return calls;
}

afterEach(() => {
  vi.clearAllMocks();
  vi.unstubAllGlobals();
});

describe("sign-in dialogs in Supabase mode", () => {
  it("signs in through Supabase, not the local endpoint", async () => {
    const user = userEvent.setup();
    const calls = stubApi();
    auth.signInWithPassword.mockResolvedValue({ data: {}, error: null });
    renderApp(<Open modal={{ kind: "signin" }} />, { config: SUPABASE });
    await user.type(await screen.findByLabelText("Email"), "ada@example.com");
    await user.type(screen.getByLabelText("Password"), "correct horse battery");
    await user.click(screen.getByRole("button", { name: "Sign in" }));
    await waitFor(() => expect(screen.queryByRole("dialog")).toBeNull());
    expect(createClient).toHaveBeenCalledWith("https://project.supabase.test", "anon-key");
    expect(auth.signInWithPassword).toHaveBeenCalledWith({
      email: "ada@example.com",
      password: "correct horse battery",
    });
    expect(calls).not.toContain("/api/auth/signin");
  });

  it("reports Supabase's refusal and keeps the dialog open", async () => {
    const user = userEvent.setup();
    stubApi();
    const warn = vi.spyOn(notify, "warn");
    auth.signInWithPassword.mockResolvedValue({
      data: {},
      error: { message: "Invalid login credentials", status: 400, code: "invalid_credentials" },
    });
    renderApp(<Open modal={{ kind: "signin" }} />, { config: SUPABASE });
    await user.type(await screen.findByLabelText("Email"), "ada@example.com");
    await user.type(screen.getByLabelText("Password"), "wrong password");
    await user.click(screen.getByRole("button", { name: "Sign in" }));
    await waitFor(() => expect(warn).toHaveBeenCalledWith("Invalid login credentials"));
    expect(screen.getByRole("dialog")).toBeInTheDocument();
  });

  it("signs up and sends the reset link through Supabase", async () => {
    const user = userEvent.setup();
    const calls = stubApi();
    auth.signUp.mockResolvedValue({ data: {}, error: null });
    auth.resetPasswordForEmail.mockResolvedValue({ data: {}, error: null });
    const { unmount } = renderApp(<Open modal={{ kind: "signup" }} />, { config: SUPABASE });
    await user.type(await screen.findByLabelText("Name"), "Ada");
    await user.type(screen.getByLabelText("Email"), "ada@example.com");
    await user.type(screen.getByLabelText("Password"), "correct horse battery");
    await user.click(screen.getByRole("button", { name: "Create account" }));
    await waitFor(() => expect(auth.signUp).toHaveBeenCalledOnce());
    expect(auth.signUp.mock.calls[0]?.[0]).toMatchObject({
      email: "ada@example.com",
      password: "correct horse battery",
      options: { data: { name: "Ada" } },
    });
    unmount();

    renderApp(<Open modal={{ kind: "forgot" }} />, { config: SUPABASE });
    await user.type(await screen.findByLabelText("Email"), "ada@example.com");
    await user.click(screen.getByRole("button", { name: "Send reset link" }));
    await waitFor(() => expect(auth.resetPasswordForEmail).toHaveBeenCalledOnce());
    expect(auth.resetPasswordForEmail.mock.calls[0]?.[0]).toBe("ada@example.com");
    expect(calls).not.toContain("/api/auth/signup");
    expect(calls).not.toContain("/api/auth/forgot-password");
  });
});
