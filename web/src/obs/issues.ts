// The Issues page's filters as the list query (GET /alert-issues).
import { localToISO } from './window';

/** issueQuery builds the list query of the filters. */
export function issueQuery(f: { status: string; priority: string; flowId: string; time: string; since: string; until: string }, cursor: string, now = Date.now()): string {
  const p = new URLSearchParams();
  if (f.status) p.set('status', f.status);
  if (f.priority) p.set('priority', f.priority);
  if (f.flowId) p.set('flowId', f.flowId);
  if (f.time === 'custom') {
    const s = localToISO(f.since);
    const u = localToISO(f.until);
    if (s) p.set('since', s);
    if (u) p.set('until', u);
  } else if (f.time) {
    p.set('since', new Date(Math.floor((now - Number(f.time) * 3600e3) / 60000) * 60000).toISOString().replace('.000Z', 'Z'));
  }
  p.set('limit', '25');
  if (cursor) p.set('cursor', cursor);
  return p.toString();
}
