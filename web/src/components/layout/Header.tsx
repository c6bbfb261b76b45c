import { Moon, Sun } from "lucide-react";
import { Link, NavLink } from "react-router-dom";

import { useMe } from "@/api/hooks";
import { useModal } from "@/components/modals/ModalContext";
import { Button } from "@/components/ui/button";
import { Skeleton } from "@/components/ui/skeleton";
import { useTheme } from "@/lib/theme";
import { cn } from "@/lib/utils";

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

export function Header() {
  const { data: me, isPending } = useMe();
  const { open } = useModal();
  const { theme, toggle } = useTheme();
  return (
    <header className="bg-background/80 sticky top-0 z-40 border-b backdrop-blur">
      <div className="mx-auto flex h-14 max-w-6xl items-center gap-2 px-4">
        <Logo />
        <nav aria-label="Main" className="ml-4 hidden gap-1 sm:flex">
          <NavLink to="/docs" className={navClass}>
            Docs
          </NavLink>
          <NavLink to="/status" className={navClass}>
            Status
          </NavLink>
          {me?.user.is_admin && (
            <NavLink to="/admin" className={navClass}>
              Operator
            </NavLink>
          )}
        </nav>
        <div className="ml-auto flex items-center gap-2">
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
            <Button asChild size="sm">
              <Link to="/dashboard">Dashboard</Link>
            </Button>
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
