/** What the Usage tab shows: a range of whole UTC days, and optionally one model, key or
HTTP status (the request log and its CSV honour all of them, the charts the days). */
export interface UsageFilters {
  from: string; // YYYY-MM-DD, inclusive
  to: string; // YYYY-MM-DD, inclusive
  model: string;
  keyId: string;
  status: string;
}

export interface Period {
  start: string;
  end: string;
}

const DAY_MS = 86_400_000;

function isoDay(date: Date): string {
  return date.toISOString().slice(0, 10);
}

/** The last `days` days up to and including today (UTC). */
export function defaultFilters(days: number, now: Date = new Date()): UsageFilters {
  const today = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
  return {
    from: isoDay(new Date(today.getTime() - (days - 1) * DAY_MS)),
    to: isoDay(today),
    model: "",
    keyId: "",
    status: "",
  };
}

/** The days as the API's half-open range: from midnight to the midnight after `to`. */
export function periodOf(filters: Pick<UsageFilters, "from" | "to">): Period {
  const start = new Date(`${filters.from}T00:00:00Z`);
  const end = new Date(new Date(`${filters.to}T00:00:00Z`).getTime() + DAY_MS);
  return { start: start.toISOString(), end: end.toISOString() };
}

export function dayCount(filters: Pick<UsageFilters, "from" | "to">): number {
  const { start, end } = periodOf(filters);
  return Math.round((Date.parse(end) - Date.parse(start)) / DAY_MS);
}

export interface LogQuery extends Period {
  model?: string;
  key_id?: string;
  status?: number;
}

/** The request log's query: empty filters are left out rather than sent blank. */
export function logQuery(filters: UsageFilters): LogQuery {
  const query: LogQuery = periodOf(filters);
  if (filters.model) query.model = filters.model;
  if (filters.keyId) query.key_id = filters.keyId;
  if (filters.status) query.status = Number(filters.status);
  return query;
}

/** The same query as a URL search string, for the CSV download link. */
export function searchOf(query: LogQuery): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined) params.set(name, String(value));
  }
  return params.toString();
}
