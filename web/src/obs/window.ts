// The time window of the observability pages: a preset ending now or a
// custom range, turned into the API's query (window=, or from= and to=).

export const PRESETS = [
  { value: '1h', label: 'Last 1 hour' },
  { value: '24h', label: 'Last 24 hours' },
  { value: '168h', label: 'Last 7 days' },
  { value: '720h', label: 'Last 30 days' },
] as const;

export type PresetValue = (typeof PRESETS)[number]['value'];

/** Win is a preset, or a custom range in the browser's local time
 * (the values of two datetime-local inputs). */
export type Win = { kind: 'preset'; value: PresetValue } | { kind: 'custom'; from: string; to: string };

/** MAX_MS is the longest window the server answers (30 days, plus the minute it tolerates). */
const MAX_MS = 720 * 3600 * 1000;

/** localToISO reads a datetime-local value ("2026-01-02T10:30") as local time. */
export function localToISO(local: string): string | null {
  if (!local) return null;
  const d = new Date(local);
  if (isNaN(d.getTime())) return null;
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** isoToLocal formats a time for a datetime-local input (local time, minutes). */
export function isoToLocal(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

/** windowError says what is wrong with a window, or null. */
export function windowError(w: Win): string | null {
  if (w.kind === 'preset') return null;
  const f = localToISO(w.from);
  if (!f) return 'Enter the start of the range.';
  const t = w.to ? localToISO(w.to) : new Date().toISOString();
  if (!t) return 'The end of the range is not a valid time.';
  const span = Date.parse(t) - Date.parse(f);
  if (span <= 0) return 'The range ends before it starts.';
  if (span > MAX_MS) return 'A range covers at most 30 days.';
  return null;
}

/** windowQuery is the API query of a valid window ("window=24h" or "from=…&to=…"). */
export function windowQuery(w: Win): string {
  const p = new URLSearchParams();
  if (w.kind === 'preset') p.set('window', w.value);
  else {
    p.set('from', localToISO(w.from) ?? '');
    const t = localToISO(w.to);
    if (t) p.set('to', t);
  }
  return p.toString();
}

/** windowLabel names a window for headings and chart titles. */
export function windowLabel(w: Win): string {
  if (w.kind === 'preset') return PRESETS.find((p) => p.value === w.value)?.label ?? w.value;
  const f = localToISO(w.from);
  const t = localToISO(w.to);
  const fmt = (s: string) => new Date(s).toLocaleString();
  return `${f ? fmt(f) : '…'} – ${t ? fmt(t) : 'now'}`;
}

/** windowMs is the length of a window in milliseconds (custom ranges without an end run to now). */
export function windowMs(w: Win, now = Date.now()): number {
  if (w.kind === 'preset') return Number.parseInt(w.value, 10) * 3600 * 1000;
  const f = localToISO(w.from);
  const t = localToISO(w.to);
  return (t ? Date.parse(t) : now) - (f ? Date.parse(f) : now);
}
