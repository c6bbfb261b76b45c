import { useQuery } from "@tanstack/react-query";
import { Menu, Moon, Sun, UserRound } from "lucide-react";
import { Link, NavLink, useNavigate } from "react-router-dom";

import { client, unwrap } from "@/api/client";
import { BILLING_ROLES, currentOrganization, useMe, useOrganizations } from "@/api/hooks";
import { useModal } from "@/components/modals/ModalContext";
import { Button } from "@/components/ui/button";
import {
  DropdownMenu,
  DropdownMenuContent,
  DropdownMenuItem,
  DropdownMenuLabel,
  DropdownMenuSeparator,
  DropdownMenuTrigger,
} from "@/components/ui/dropdown-menu";
import { Skeleton } from "@/components/ui/skeleton";
import { usd } from "@/lib/format";
import { useTheme } from "@/lib/theme";
import { cn } from "@/lib/utils";

import { RunwayWatch } from "./RunwayWatch";
import { useSignOut } from "./useSignOut";

function navClass({ isActive }: { isActive: boolean }) {
  return cn(
    "rounded-md px-2 py-1 text-sm transition-colors hover:text-foreground",
    isActive ? "text-foreground font-medium" : "text-muted-foreground",
  );
}

export function Logo() {
  return (
    <Link to="/" className="flex items-center gap-2 rounded-md font-semibold tracking-tight">
      <img src="/favicon.svg" alt="" className="size-7" />
      <span>GPT API</span>
    </Link>
  );
}

function usePages(): [string, string][] {
  const { data: me } = useMe();
  return [
    ["/docs", "Docs"],
    ["/models", "Models"],
    ["/gpu", "GPU Cloud"],
    ...(me ? ([["/playground", "Playground"]] as [string, string][]) : []),
    ["/status", "Status"],
    ...(me?.user.is_admin ? ([["/admin", "Operator"]] as [string, string][]) : []),
  ];
}

/** Below 640 px the page links fold into one menu. */
function PhoneMenu() {
  const pages = usePages();
  const navigate = useNavigate();
  return (
    <DropdownMenu>
      <DropdownMenuTrigger asChild>
        <Button variant="ghost" size="icon" className="sm:hidden" aria-label="Menu">
          <Menu />
        </Button>
      </DropdownMenuTrigger>
      <DropdownMenuContent align="start">
        {pages.map(([to, label]) => (
          <DropdownMenuItem key={to} onSelect={() => navigate(to)}>
            {label}
          </DropdownMenuItem>
        ))}
      </DropdownMenuContent>
    </DropdownMenu>
  );
}

/** The organisation's balance, for those who may see it; a link to Billing. */
function Balance() {
  const orgs = useOrganizations();
  const org = currentOrganization(orgs.data);
  const visible = org !== undefined && BILLING_ROLES.has(org.role);
  const billing = useQuery({
    queryKey: ["orgs", org?.id, "billing"],
    queryFn: () => unwrap(client.GET("/api/orgs/{org_id}/billing", { params: { path: { org_id: org!.id } } })),
    enabled: visible,
  });
  if (!visible || !billing.data) return null;
  return (
    <Link
      to="/dashboard/billing"
      className="text-muted-foreground hover:text-foreground hidden rounded-md px-2 py-1 text-sm md:inline"
      aria-label={`Balance ${usd(billing.data.balance_nanos)}: billing`}
    >
      Balance <span className="text-foreground font-medium">{usd(billing.data.balance_nanos)}</span>
    </Link>
  );
}

function AccountMenu({ name, email }: { name: string; email: string }) {
  const navigate = useNavigate();
  const signOut = useSignOut();
  return (
    <DropdownMenu>
      <DropdownMenuTrigger asChild>
        <Button variant="outline" size="icon" aria-label="Account">
          <UserRound />
        </Button>
      </DropdownMenuTrigger>
      <DropdownMenuContent align="end">
        <DropdownMenuLabel>
          <span className="block font-medium">{name || email}</span>
          <span className="text-muted-foreground block text-xs">{email}</span>
        </DropdownMenuLabel>
        <DropdownMenuSeparator />
        <DropdownMenuItem onSelect={() => navigate("/dashboard")}>Dashboard</DropdownMenuItem>
        <DropdownMenuItem onSelect={() => navigate("/dashboard/settings")}>Settings</DropdownMenuItem>
        <DropdownMenuSeparator />
        <DropdownMenuItem onSelect={() => void signOut()}>Sign out</DropdownMenuItem>
      </DropdownMenuContent>
    </DropdownMenu>
  );
}

export function Header() {
  const { data: me, isPending } = useMe();
  const { open } = useModal();
  const { theme, toggle } = useTheme();
  const pages = usePages();
  return (
    <header className="bg-background/80 sticky top-0 z-40 border-b backdrop-blur">
      <div className="mx-auto flex h-14 max-w-6xl items-center gap-2 px-4">
        <PhoneMenu />
        <Logo />
        <nav aria-label="Main" className="ml-4 hidden gap-1 sm:flex">
          {pages.map(([to, label]) => (
            <NavLink key={to} to={to} className={navClass}>
              {label}
            </NavLink>
          ))}
        </nav>
        <div className="ml-auto flex items-center gap-2">
          {me && <Balance />}
          {me && <RunwayWatch />}
          <Button
            variant="ghost"
            size="icon"
            onClick={toggle}
            aria-label={theme === "dark" ? "Switch to light theme" : "Switch to dark theme"}
          >
            {theme === "dark" ? <Sun /> : <Moon />}
          </Button>
          {isPending ? (
            <Skeleton className="h-8 w-24" aria-label="Loading account" />
          ) : me ? (
            <>
              <Button asChild size="sm">
                <Link to="/dashboard">Dashboard</Link>
              </Button>
              <AccountMenu name={me.user.name} email={me.user.email} />
            </>
          ) : (
            <>
              <Button variant="ghost" size="sm" onClick={() => open({ kind: "signin" })}>
                Sign In
              </Button>
              <Button size="sm" onClick={() => open({ kind: "signup" })}>
                Register
              </Button>
            </>
          )}
        </div>
      </div>
    </header>
  );
}
