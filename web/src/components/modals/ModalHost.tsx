import { useCallback, useMemo, useRef, useState, type ReactNode } from "react";

import { Dialog, DialogContent } from "@/components/ui/dialog";

import { ForgotPasswordDialog, SignInDialog, SignUpDialog, TwoFactorDialog } from "./AuthDialogs";
import { ConfirmDialog, ContactDialog, PrivacyDialog, TermsDialog } from "./InfoDialogs";
import { ModalContext, type Modal } from "./ModalContext";

function Body({ modal }: { modal: Modal }) {
  switch (modal.kind) {
    case "signin":
      return <SignInDialog returnTo={modal.returnTo} notice={modal.notice} />;
    case "signup":
      return <SignUpDialog />;
    case "forgot":
      return <ForgotPasswordDialog />;
    case "twofactor":
      return <TwoFactorDialog challenge={modal.challenge} returnTo={modal.returnTo} />;
    case "confirm":
      return <ConfirmDialog options={modal.options} />;
    case "privacy":
      return <PrivacyDialog />;
    case "terms":
      return <TermsDialog />;
    case "contact":
      return <ContactDialog />;
  }
}

/** One dialog at a time, opened from anywhere with `useModal().open(...)`. Closing it puts
the focus back on whatever opened the first of a chain of dialogs (sign in → sign up → …). */
export function ModalHost({ children }: { children: ReactNode }) {
  const [modal, setModal] = useState<Modal | null>(null);
  const showing = useRef(false);
  const trigger = useRef<HTMLElement | null>(null);
  const open = useCallback((next: Modal) => {
    if (!showing.current) {
      const active = document.activeElement;
      trigger.current = active instanceof HTMLElement && active !== document.body ? active : null;
    }
    showing.current = true;
    setModal(next);
  }, []);
  const close = useCallback(() => {
    showing.current = false;
    setModal(null);
  }, []);
  const restoreFocus = (event: Event) => {
    const target = trigger.current;
    trigger.current = null;
    if (target?.isConnected) {
      event.preventDefault();
      target.focus();
    }
  };
  const value = useMemo(() => ({ open, close }), [open, close]);
  return (
    <ModalContext.Provider value={value}>
      {children}
      <Dialog open={modal !== null} onOpenChange={(isOpen) => !isOpen && close()}>
        <DialogContent onCloseAutoFocus={restoreFocus}>
          {modal && <Body key={modal.kind} modal={modal} />}
        </DialogContent>
      </Dialog>
    </ModalContext.Provider>
  );
}
