import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";

import { ME, renderApp } from "@/test/render";

import { Footer } from "./Footer";
import { Header } from "./Header";

function Chrome() {
  return (
    <>
      <Header />
      <Footer />
    </>
  );
}

describe("header and footer", () => {
  it("offer Sign In and Register to visitors", () => {
    renderApp(<Chrome />);
    const header = screen.getByRole("banner");
    expect(within(header).getByRole("button", { name: "Sign In" })).toBeInTheDocument();
    expect(within(header).getByRole("button", { name: "Register" })).toBeInTheDocument();
    expect(within(header).queryByRole("link", { name: "Dashboard" })).toBeNull();
    const footer = screen.getByRole("contentinfo");
    expect(within(footer).getByRole("link", { name: "Home" })).toHaveAttribute("href", "/");
    expect(within(footer).queryByRole("link", { name: "Dashboard" })).toBeNull();
  });

  it("offer the Dashboard once signed in", () => {
    renderApp(<Chrome />, { me: ME });
    const header = screen.getByRole("banner");
    expect(within(header).getByRole("link", { name: "Dashboard" })).toHaveAttribute("href", "/dashboard");
    expect(within(header).queryByRole("button", { name: "Sign In" })).toBeNull();
    expect(within(screen.getByRole("contentinfo")).getByRole("link", { name: "Dashboard" })).toBeInTheDocument();
  });

  it("show the operator area to platform admins only", () => {
    renderApp(<Header />, { me: { ...ME, user: { ...ME.user, is_admin: true } } });
    expect(screen.getByRole("link", { name: "Operator" })).toHaveAttribute("href", "/admin");
  });

  it("link every page and open the legal and contact modals", async () => {
    const user = userEvent.setup();
    renderApp(<Footer />);
    const footer = screen.getByRole("contentinfo");
    expect(within(footer).getByRole("link", { name: "Status" })).toHaveAttribute("href", "/status");
    expect(within(footer).getByRole("link", { name: "Documentation" })).toHaveAttribute("href", "/docs");
    expect(footer).toHaveTextContent("GPT API © 2025");
    await user.click(within(footer).getByRole("button", { name: "Terms of Service" }));
    expect(await screen.findByRole("dialog", { name: "Terms of Service" })).toBeInTheDocument();
    await user.keyboard("{Escape}");
    await user.click(within(footer).getByRole("button", { name: "Contact Us" }));
    expect(await screen.findByRole("dialog", { name: "Contact us" })).toBeInTheDocument();
  });

  it("switches between the sign-in and sign-up modals", async () => {
    const user = userEvent.setup();
    renderApp(<Header />);
    await user.click(screen.getByRole("button", { name: "Sign In" }));
    const signIn = await screen.findByRole("dialog", { name: "Sign in" });
    expect(within(signIn).getByLabelText("Email")).toBeRequired();
    await user.click(within(signIn).getByRole("button", { name: "Create an account" }));
    const signUp = await screen.findByRole("dialog", { name: "Create your account" });
    expect(within(signUp).getByLabelText("Password")).toHaveAttribute("minlength", "10");
    expect(within(signUp).queryByRole("link", { name: /Continue with/ })).toBeNull();
  });
});
