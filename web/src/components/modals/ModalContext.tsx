import { createContext, useContext } from "react";

export interface ConfirmOptions {
  title: string;
  description: string;
  confirmLabel?: string;
  destructive?: boolean;
  onConfirm: () => Promise<unknown> | void;
}

export type Modal =
  | { kind: "signin"; returnTo?: string; notice?: string }
  | { kind: "signup" }
  | { kind: "forgot" }
  | { kind: "twofactor"; challenge: string; returnTo?: string }
  | { kind: "confirm"; options: ConfirmOptions }
  | { kind: "privacy" }
  | { kind: "terms" }
  | { kind: "contact" };

export interface ModalState {
  open: (modal: Modal) => void;
  close: () => void;
}

export const ModalContext = createContext<ModalState>({ open: () => {}, close: () => {} });

export function useModal(): ModalState {
  return useContext(ModalContext);
}
