/** The visitor's choices about being measured: Do Not Track (or Global Privacy Control) in the
browser, and the analytics consent given or refused in the Privacy dialog. Analytics runs only
with consent and without DNT; error reports carry no personal data and need neither. */

const CONSENT_KEY = "gptapi.analytics-consent";
export type Consent = "granted" | "denied" | "unset";

type PrivacySignals = Navigator & { globalPrivacyControl?: boolean };

export function doNotTrack(nav: PrivacySignals = navigator): boolean {
  const windowDnt = (window as Window & { doNotTrack?: string }).doNotTrack;
  return nav.doNotTrack === "1" || windowDnt === "1" || nav.globalPrivacyControl === true;
}

export function readConsent(): Consent {
  const value = window.localStorage.getItem(CONSENT_KEY);
  return value === "granted" || value === "denied" ? value : "unset";
}

const listeners = new Set<(consent: Consent) => void>();

export function writeConsent(consent: Exclude<Consent, "unset">): void {
  window.localStorage.setItem(CONSENT_KEY, consent);
  for (const listener of listeners) listener(consent);
}

export function onConsentChange(listener: (consent: Consent) => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}
