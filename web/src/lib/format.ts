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
