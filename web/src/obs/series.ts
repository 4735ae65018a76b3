// Pure helpers of the Performance tab: series points → chart columns,
// endpoint rows, and which search a drill-down box means.
import type { Point } from '../api/obs';

/** columns turns series points into chart columns (x in Unix seconds). */
export function columns(points: Point[], pick: ((p: Point) => number | null)[]): { xs: number[]; ys: (number | null)[][] } {
  const xs = points.map((p) => Math.floor(Date.parse(p.at) / 1000));
  return { xs, ys: pick.map((f) => points.map((p) => f(p))) };
}

/** stepLabel turns the API's step ("10m0s", "1h0m0s") into words for chart titles. */
export function stepLabel(step: string): string {
  const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(step);
  if (!m) return step;
  const h = Number(m[1] ?? 0);
  const min = Number(m[2] ?? 0);
  if (h && !min) return h === 1 ? 'hour' : `${h} hours`;
  if (!h && min) return min === 1 ? 'minute' : `${min} minutes`;
  if (h || min) return `${h * 60 + min} minutes`;
  return step;
}

/** lookup classifies what a user typed in the drill-down box: a request id
 * (X-CAP-REQUEST-ID, "<lineage>-<record sequence>[-…]") or a lineage (run) id. */
export function lookup(text: string): { kind: 'request' | 'lineage'; id: string } | null {
  const t = text.trim();
  if (!t) return null;
  if (/^[A-Za-z0-9_]+(-\d+)+$/.test(t)) return { kind: 'request', id: t };
  return { kind: 'lineage', id: t };
}

/** statusClass names the class of an HTTP status (0: no answer). */
export function statusClass(code: number): string {
  if (!code) return 'no answer';
  return `${Math.floor(code / 100)}xx`;
}

/** isolated tells whether some value has no neighbour to draw a line to. */
export function isolated(vs: (number | null)[]): boolean {
  return vs.some((v, i) => v !== null && (i === 0 || vs[i - 1] === null) && (i === vs.length - 1 || vs[i + 1] === null));
}

/** percentTop is the top of a percentage axis: a little above the highest value, never past 100 %. */
export function percentTop(max: number | null): number {
  if (max === null || !Number.isFinite(max) || max <= 0) return 1;
  return Math.min(100, max * 1.1);
}
