const NANOS_PER_DOLLAR = 1_000_000_000;

/** Nano-dollars as dollars, with cents at least and more digits only when they matter. */
export function usd(nanos: number): string {
  const dollars = Math.abs(nanos) / NANOS_PER_DOLLAR;
  const digits = dollars !== 0 && dollars < 0.01 ? 9 : 2;
  const amount = dollars.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: digits });
  return `${nanos < 0 ? "-" : ""}$${amount}`;
}

export function dollarsToNanos(dollars: string): number {
  return Math.round(Number(dollars) * NANOS_PER_DOLLAR);
}

export function dateTime(iso: string | null | undefined): string {
  return iso ? new Date(iso).toLocaleString() : "—";
}

export function count(n: number): string {
  return n.toLocaleString("en-US");
}

/** How long ago, as a person says it: "just now", "2 min ago", "3 hours ago", then the date. */
export function ago(iso: string, now: number): string {
  const seconds = Math.max(0, Math.floor((now - Date.parse(iso)) / 1000));
  if (seconds < 60) return "just now";
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return hours === 1 ? "1 hour ago" : `${hours} hours ago`;
  return new Date(iso).toLocaleDateString();
}

/** A running time as the console shows it: "4h 23m", "2m 5s", "40s". */
export function duration(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = Math.floor(seconds % 60);
  if (h > 0) return `${h}h ${m}m`;
  if (m > 0) return `${m}m ${s}s`;
  return `${s}s`;
}
