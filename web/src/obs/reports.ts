// Pure helpers of the Reports page: the form of a summary report schedule
// and the body the API takes (spec §6.4).
import type { Report, ReportInput, Schedule } from '../api/obs';
import { parseGoDuration, toGoMinutes } from './format';
import { splitList } from './alerts';

export interface ReportForm {
  name: string;
  flowId: string;
  enabled: boolean;
  recipients: string;
  channelId: string;
  schedule: Schedule;
  at: string;
  everyMin: string;
  afterEachRun: boolean;
}

export function emptyReport(): ReportForm {
  return { name: '', flowId: '', enabled: true, recipients: '', channelId: '', schedule: 'daily', at: '08:00', everyMin: '240', afterEachRun: false };
}

export function fromReport(r: Report): ReportForm {
  const every = parseGoDuration(r.every ?? '');
  return {
    name: r.name,
    flowId: r.flowId,
    enabled: r.enabled,
    recipients: (r.recipients ?? []).join(', '),
    channelId: r.channelId ?? '',
    schedule: r.schedule,
    at: r.at || '08:00',
    everyMin: every ? String(Math.round(every / 60)) : '240',
    afterEachRun: r.afterEachRun,
  };
}

const EMAIL = /^[^\s@,;]+@[^\s@,;]+$/;

export function reportError(f: ReportForm): string | null {
  if (!f.name.trim()) return 'Give the report a name.';
  const to = splitList(f.recipients);
  if (to.length === 0) return 'Add at least one recipient.';
  const bad = to.find((t) => !EMAIL.test(t));
  if (bad) return `${bad} is not an email address.`;
  if (f.schedule === 'daily' && !/^([01]\d|2[0-3]):[0-5]\d$/.test(f.at)) return 'The time of day is HH:MM.';
  if (f.schedule === 'interval') {
    const m = Number(f.everyMin);
    if (!Number.isInteger(m) || m < 15 || m > 168 * 60) return 'The interval is 15 minutes to 168 hours, in whole minutes.';
  }
  return null;
}

export function reportBody(f: ReportForm, revision?: number): ReportInput {
  const b: ReportInput = {
    name: f.name.trim(),
    enabled: f.enabled,
    recipients: splitList(f.recipients),
    schedule: f.schedule,
    afterEachRun: f.afterEachRun,
  };
  if (f.flowId) b.flowId = f.flowId;
  if (f.channelId) b.channelId = f.channelId;
  if (f.schedule === 'daily') b.at = f.at;
  if (f.schedule === 'interval') b.every = toGoMinutes(Number(f.everyMin));
  if (revision) b.revision = revision;
  return b;
}

/** scheduleText: "daily at 08:30", "hourly", "every 4 h". */
export function scheduleText(r: Pick<Report, 'schedule' | 'at' | 'every' | 'afterEachRun'>): string {
  let s: string = r.schedule;
  if (r.schedule === 'daily') s = `daily at ${r.at}`;
  if (r.schedule === 'interval') {
    const sec = parseGoDuration(r.every ?? '') ?? 0;
    s = sec % 3600 === 0 ? `every ${sec / 3600} h` : `every ${Math.round(sec / 60)} min`;
  }
  return r.afterEachRun ? s + ', and after each run' : s;
}
