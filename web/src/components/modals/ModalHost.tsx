import { useCallback, useMemo, useState, type ReactNode } from "react";

import { Dialog, DialogContent } from "@/components/ui/dialog";

import { ForgotPasswordDialog, SignInDialog, SignUpDialog, TwoFactorDialog } from "./AuthDialogs";
import { ConfirmDialog, ContactDialog, PrivacyDialog, TermsDialog } from "./InfoDialogs";
import { ModalContext, type Modal } from "./ModalContext";

function Body({ modal }: { modal: Modal }) {
  switch (modal.kind) {
    case "signin":
      return <SignInDialog />;
    case "signup":
      return <SignUpDialog />;
    case "forgot":
      return <ForgotPasswordDialog />;
    case "twofactor":
      return <TwoFactorDialog challenge={modal.challenge} />;
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

/** One dialog at a time, opened from anywhere with `useModal().open(...)`. */
export function ModalHost({ children }: { children: ReactNode }) {
  const [modal, setModal] = useState<Modal | null>(null);
  const close = useCallback(() => setModal(null), []);
  const value = useMemo(() => ({ open: setModal, close }), [close]);
  return (
    <ModalContext.Provider value={value}>
      {children}
      <Dialog open={modal !== null} onOpenChange={(open) => !open && close()}>
        <DialogContent>{modal && <Body key={modal.kind} modal={modal} />}</DialogContent>
      </Dialog>
    </ModalContext.Provider>
  );
}
