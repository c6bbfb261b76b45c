import { Outlet } from "react-router-dom";

import { ModalHost } from "@/components/modals/ModalHost";

import { Footer } from "./Footer";
import { Header } from "./Header";
import { SessionGuard } from "./SessionGuard";

export function Layout() {
  return (
    <ModalHost>
      <SessionGuard />
      <div className="flex min-h-svh flex-col">
        <a
          href="#main"
          className="bg-background sr-only z-50 rounded-md p-2 focus:not-sr-only focus:fixed focus:top-2 focus:left-2"
        >
          Skip to content
        </a>
        <Header />
        <main id="main" className="mx-auto w-full max-w-6xl flex-1 px-4 py-8">
          <Outlet />
        </main>
        <Footer />
      </div>
    </ModalHost>
  );
}
