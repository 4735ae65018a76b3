// Pure helpers of the alert pages: a rule's condition in words, the form
// of a rule (create from a preset or a metric; edit keeps the immutable part),
// and the request bodies the API takes.
import type { ApiEndpoint, Definition, MetricInfo, Preset, Rule, RuleInput } from '../api/obs';
import { parseGoDuration, toGoMinutes } from './format';

export const COMPARATORS = ['>=', '>', '<=', '<', '=='] as const;
const CMP_WORD: Record<string, string> = { '>=': '≥', '>': '>', '<=': '≤', '<': '<', '==': '=' };

/** unitOf is the unit a metric's value is in ("%", "s", …). */
export function unitOf(metric: string, metrics?: MetricInfo[]): string {
  return metrics?.find((m) => m.name === metric)?.unit ?? '';
}

export function metricLabel(metric: string, metrics?: MetricInfo[]): string {
  return metrics?.find((m) => m.name === metric)?.label ?? metric;
}

function withUnit(v: number, unit: string): string {
  if (unit === '%') return `${v} %`;
  if (unit === 's') return `${v} s`;
  return unit ? `${v} ${unit}` : String(v);
}

/** condition: "P95 latency ≥ 2 s (Warning) / 5 s (Critical) over 10 min". */
export function condition(d: Pick<Rule, 'metric' | 'comparator' | 'warning' | 'critical' | 'window'>, metrics?: MetricInfo[]): string {
  const unit = unitOf(d.metric, metrics);
  const c = CMP_WORD[d.comparator] ?? d.comparator;
  const parts: string[] = [];
  if (d.warning !== null && d.warning !== undefined) parts.push(`${withUnit(d.warning, unit)} (Warning)`);
  if (d.critical !== null && d.critical !== undefined) parts.push(`${withUnit(d.critical, unit)} (Critical)`);
  const mins = parseGoDuration(d.window);
  const over = mins === null ? d.window : toWords(mins);
  return `${metricLabel(d.metric, metrics)} ${c} ${parts.join(' / ') || '—'} over ${over}`;
}

function toWords(sec: number): string {
  if (sec % 86400 === 0 && sec >= 86400) return `${sec / 86400} d`;
  if (sec % 3600 === 0 && sec >= 3600) return `${sec / 3600} h`;
  if (sec % 60 === 0) return `${sec / 60} min`;
  return `${sec} s`;
}

/** RuleForm is what the rule dialog edits (numbers as text so a field can be empty). */
export interface RuleForm {
  name: string;
  preset: string; // "" custom
  platform: string;
  metric: string;
  flowId: string; // "" all dataflows
  endpoint: string; // "" every API
  comparator: string;
  warning: string;
  critical: string;
  windowMin: string;
  minVolume: string;
  title: string;
  description: string;
  channels: string[];
  renotifyMin: string;
  autoCloseMin: string;
  enabled: boolean;
}

const minutes = (go: string | undefined, dflt: number) => {
  const s = parseGoDuration(go ?? '');
  return String(s === null ? dflt : Math.round(s / 60));
};
const num = (v: number | null | undefined) => (v === null || v === undefined ? '' : String(v));

/** emptyForm starts a custom rule on the first metric. */
export function emptyForm(metrics: MetricInfo[]): RuleForm {
  const m = metrics[0];
  return {
    name: '',
    preset: '',
    platform: 'dataflow',
    metric: m?.name ?? '',
    flowId: '',
    endpoint: '',
    comparator: m?.comparator ?? '>=',
    warning: '',
    critical: '',
    windowMin: '10',
    minVolume: '',
    title: '',
    description: '',
    channels: [],
    renotifyMin: '60',
    autoCloseMin: '10',
    enabled: true,
  };
}

/** fromPreset fills the form from a preset (its name, metric and thresholds). */
export function fromPreset(p: Preset, keep: RuleForm): RuleForm {
  const d = p.definition;
  return {
    ...keep,
    name: p.name,
    preset: p.key,
    metric: p.metric,
    comparator: d.comparator,
    warning: num(d.warning),
    critical: num(d.critical),
    windowMin: minutes(d.window, 10),
    minVolume: d.minVolume ? String(d.minVolume) : '',
  };
}

/** fromRule fills the form to edit a rule. */
export function fromRule(r: Rule): RuleForm {
  return {
    name: r.name,
    preset: r.preset ?? '',
    platform: r.platform,
    metric: r.metric,
    flowId: r.flowId,
    endpoint: r.endpoint ?? '',
    comparator: r.comparator,
    warning: num(r.warning),
    critical: num(r.critical),
    windowMin: minutes(r.window, 10),
    minVolume: r.minVolume ? String(r.minVolume) : '',
    title: r.title,
    description: r.description,
    channels: r.channels ?? [],
    renotifyMin: minutes(r.renotifyEvery, 0),
    autoCloseMin: minutes(r.autoCloseAfter, 0),
    enabled: r.enabled,
  };
}

/** formError says what to fix before sending, or null (metrics: to check
 * that an API filter is on a metric measured from API calls). */
export function formError(f: RuleForm, metrics?: MetricInfo[]): string | null {
  if (!f.name.trim()) return 'Give the rule a name.';
  if (!f.metric) return 'Choose a metric.';
  if (f.endpoint && metrics && !metrics.find((m) => m.name === f.metric)?.perEndpoint) return `${metricLabel(f.metric, metrics)} is not measured from API calls: remove the API filter.`;
  if (f.warning.trim() === '' && f.critical.trim() === '') return 'Set a Warning or a Critical threshold (or both).';
  for (const [k, v] of [
    ['Warning', f.warning],
    ['Critical', f.critical],
  ] as const) {
    if (v.trim() !== '' && !Number.isFinite(Number(v))) return `The ${k} threshold is not a number.`;
  }
  const w = Number(f.windowMin);
  if (!Number.isInteger(w) || w < 1) return 'The window is a whole number of minutes, at least 1.';
  for (const [k, v] of [
    ['re-notify interval', f.renotifyMin],
    ['auto-close delay', f.autoCloseMin],
  ] as const) {
    if (v.trim() !== '' && (!Number.isInteger(Number(v)) || Number(v) < 0)) return `The ${k} is a whole number of minutes.`;
  }
  return null;
}

const numOrNull = (v: string) => (v.trim() === '' ? null : Number(v));

function definition(f: RuleForm): Definition {
  return {
    comparator: f.comparator,
    warning: numOrNull(f.warning),
    critical: numOrNull(f.critical),
    window: toGoMinutes(Number(f.windowMin)),
    minVolume: f.minVolume.trim() ? Number(f.minVolume) : undefined,
    title: f.title,
    description: f.description,
    channels: f.channels,
    renotifyEvery: toGoMinutes(Number(f.renotifyMin || 0)),
    autoCloseAfter: toGoMinutes(Number(f.autoCloseMin || 0)),
  };
}

/** createBody is the POST /alert-rules body. */
export function createBody(f: RuleForm): RuleInput {
  const b: RuleInput = { name: f.name.trim(), platform: f.platform, metric: f.metric, enabled: f.enabled, ...definition(f) };
  if (f.preset) b.preset = f.preset;
  if (f.flowId) b.flowId = f.flowId;
  if (f.endpoint) b.endpoint = f.endpoint;
  return b;
}

/** updateBody is the PUT body: the editable part only (platform, metric,
 * scope, API filter and preset are immutable, so they are left out). */
export function updateBody(f: RuleForm, revision: number): RuleInput {
  return { name: f.name.trim(), enabled: f.enabled, revision, ...definition(f) };
}

/** splitList reads comma-, semicolon- or newline-separated addresses. */
export function splitList(s: string): string[] {
  return s
    .split(/[,;\n]/)
    .map((x) => x.trim())
    .filter(Boolean);
}

/** endpointChoices are the APIs a rule's filter can pick: those the scope
 * (one dataflow, or all: "") called in the last 7 days, plus the rule's own
 * filter if it is no longer called. */
export function endpointChoices(eps: ApiEndpoint[] | undefined, flowId: string, current: string): ApiEndpoint[] {
  const out = (eps ?? []).filter((e) => !flowId || e.flowIds.includes(flowId));
  if (current && !out.some((e) => e.endpoint === current)) out.push({ endpoint: current, flowIds: flowId ? [flowId] : [], calls: 0 });
  return out;
}

/** scopeText: "All dataflows", or the dataflow's name, with the API filter. */
export function scopeText(r: Pick<Rule, 'flowId' | 'endpoint'>, flowName: (id: string) => string): string {
  const base = r.flowId ? flowName(r.flowId) : 'All dataflows';
  return r.endpoint ? `${base} · API ${r.endpoint}` : base;
}
