import { Link } from "react-router-dom";

import { useMe } from "@/api/hooks";
import { useModal } from "@/components/modals/ModalContext";

const linkClass = "text-muted-foreground hover:text-foreground rounded-sm text-sm transition-colors";

export function Footer() {
  const { data: me } = useMe();
  const { open } = useModal();
  return (
    <footer className="mt-16 border-t">
      <div className="mx-auto flex max-w-6xl flex-col gap-4 px-4 py-8 sm:flex-row sm:items-center sm:justify-between">
        <nav aria-label="Footer" className="flex flex-wrap gap-x-5 gap-y-2">
          {me ? (
            <Link to="/dashboard" className={linkClass}>
              Dashboard
            </Link>
          ) : (
            <Link to="/" className={linkClass}>
              Home
            </Link>
          )}
          <Link to="/status" className={linkClass}>
            Status
          </Link>
          <Link to="/docs" className={linkClass}>
            Documentation
          </Link>
          <button type="button" className={linkClass} onClick={() => open({ kind: "privacy" })}>
            Privacy Policy
          </button>
          <button type="button" className={linkClass} onClick={() => open({ kind: "terms" })}>
            Terms of Service
          </button>
          <button type="button" className={linkClass} onClick={() => open({ kind: "contact" })}>
            Contact Us
          </button>
        </nav>
        <p className="text-muted-foreground text-sm">GPT API © 2025</p>
      </div>
    </footer>
  );
}
