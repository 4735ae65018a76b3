// Number formats of the observability pages: counts with thousands
// separators, percentages, latencies (seconds → ms or s) and rates.

export function fmtCount(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  return Math.round(n).toLocaleString('en-US');
}

/** fmtPct: null (no input in the window) is "—", not 0 %. */
export function fmtPct(p: number | null | undefined, digits = 1): string {
  if (p === null || p === undefined || !Number.isFinite(p)) return '—';
  if (p > 0 && p < 0.1 && digits <= 1) return '< 0.1 %';
  return p.toFixed(digits) + ' %';
}

/** fmtSeconds shows a latency in ms below a second, else in s. */
export function fmtSeconds(s: number | null | undefined): string {
  if (s === null || s === undefined || !Number.isFinite(s)) return '—';
  if (s < 1) return (s * 1000).toFixed(s < 0.01 ? 2 : s < 0.1 ? 1 : 0) + ' ms';
  return s.toFixed(s < 10 ? 2 : 1) + ' s';
}

export function fmtRate(r: number | null | undefined): string {
  if (r === null || r === undefined || !Number.isFinite(r)) return '—';
  if (r === 0) return '0';
  if (r < 10) return r.toFixed(2);
  if (r < 100) return r.toFixed(1);
  return fmtCount(r);
}

export function fmtBytes(n: number): string {
  if (n < 1024) return n + ' B';
  const u = ['KB', 'MB', 'GB', 'TB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < u.length - 1) {
    v /= 1024;
    i++;
  }
  return v.toFixed(v < 10 ? 1 : 0) + ' ' + u[i];
}

/** fmtDuration turns a Go duration string ("1h0m0s", "10m0s", "0s") into "1 h", "10 min". */
export function fmtDuration(go: string | undefined): string {
  const s = parseGoDuration(go ?? '');
  if (s === null) return go ?? '—';
  if (s === 0) return 'never';
  const parts: string[] = [];
  let r = s;
  for (const [unit, n] of [
    ['d', 86400],
    ['h', 3600],
    ['min', 60],
    ['s', 1],
  ] as const) {
    if (r >= n) {
      const k = Math.floor(r / n);
      parts.push(`${k} ${unit}`);
      r -= k * n;
    }
  }
  return parts.join(' ');
}

/** parseGoDuration reads "1h30m", "10m0s", "90s", "0s" into seconds (null when unreadable). */
export function parseGoDuration(v: string): number | null {
  const t = v.trim();
  if (!t) return null;
  if (t === '0') return 0;
  const re = /(\d+(?:\.\d+)?)(h|ms|m|s)/gy;
  let total = 0;
  let pos = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(t))) {
    const n = Number(m[1]);
    total += m[2] === 'h' ? n * 3600 : m[2] === 'm' ? n * 60 : m[2] === 's' ? n : n / 1000;
    pos = re.lastIndex;
  }
  return pos === t.length ? total : null;
}

/** toGoMinutes turns minutes into a Go duration ("90" → "1h30m", "0" → "0s"). */
export function toGoMinutes(min: number): string {
  if (!Number.isFinite(min) || min <= 0) return '0s';
  const h = Math.floor(min / 60);
  const m = Math.round(min - h * 60);
  return (h ? h + 'h' : '') + (m || !h ? m + 'm' : '');
}
