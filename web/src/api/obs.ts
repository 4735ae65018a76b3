// Shapes of the observability and alerting API (issue 17; server/obs.go,
// server/alerts.go, obs/query.go, alerts/types.go; docs/observability.md).

export interface Percentiles {
  p50: number | null;
  p90: number | null;
  p95: number | null;
  p99: number | null;
}

export interface ErrorRow {
  flowId: string;
  block: string;
  code: number;
  message: string;
  count: number;
  lastSeen: string;
}

/** Snapshot: the System Snapshot tiles and a dataflow's overall performance. */
export interface Snapshot {
  from: string;
  to: string;
  processedUnits: number;
  delivered: number;
  filtered: number;
  failed: number;
  warnings: number;
  retryExhausted: number;
  errorPct: number | null;
  accuracyPct: number | null;
  topError: ErrorRow | null;
  latency: Percentiles;
  rpm: number;
  filesPicked: number;
  files: number;
  filesFailed: number;
  filesPartial: number;
  bytesRead: number;
  calls: number;
  calls4xx: number;
  calls5xx: number;
}

export interface Point {
  at: string;
  recordsIn: number;
  recordsOut: number;
  filtered: number;
  failed: number;
  warnings: number;
  retryExhausted: number;
  filesPicked: number;
  files: number;
  bytesRead: number;
  errorPct: number | null;
  rpm: number;
  calls: number;
  calls2xx: number;
  calls4xx: number;
  calls5xx: number;
  latency: Percentiles;
}

export interface Series {
  from: string;
  to: string;
  step: string;
  points: Point[];
}

export interface Endpoint {
  endpoint: string;
  calls: number;
  calls2xx: number;
  calls3xx: number;
  calls4xx: number;
  calls5xx: number;
  noAnswer: number;
  attempts: number;
  retryExhausted: number;
  avgSeconds: number | null;
  latency: Percentiles;
  histogram: { bounds: number[]; counts: number[] };
}

export interface BlockRow {
  block: string;
  in: number;
  out: number;
  filtered: number;
  failed: number;
  errors: number;
  endpoints?: Endpoint[] | null;
}

export interface BlockCounts {
  from: string;
  to: string;
  flowId: string;
  blocks: BlockRow[];
}

export interface ErrorSummary {
  from: string;
  to: string;
  errors: ErrorRow[];
}

/** RequestLog is one stored API call (bodies only from /request-log/{id}). */
export interface RequestLog {
  id: number;
  flowId: string;
  lineageId: string;
  requestId: string;
  block: string;
  endpoint: string;
  method: string;
  url: string;
  seq: number;
  at: string;
  latencyMicros: number;
  status: number;
  attempts: number;
  retryExhausted: boolean;
  error?: string;
  requestHeaders?: string;
  requestBody?: string;
  responseBody?: string;
  truncated: boolean;
}

export interface RequestPage {
  items: RequestLog[];
  next: string;
}

// ---- alerts ----

export interface MetricInfo {
  name: string;
  label: string;
  unit: string;
  description: string;
  comparator: string;
  /** perEndpoint: a rule on this metric can be filtered to one API endpoint. */
  perEndpoint: boolean;
}

/** An API endpoint the dataflows called in the last 7 days (GET /alert-endpoints). */
export interface ApiEndpoint {
  endpoint: string;
  flowIds: string[];
  calls: number;
}

export interface Definition {
  comparator: string;
  warning: number | null;
  critical: number | null;
  /** Go duration, e.g. "10m0s". */
  window: string;
  minVolume?: number;
  title: string;
  description: string;
  channels: string[];
  renotifyEvery: string;
  autoCloseAfter: string;
}

export interface Preset {
  key: string;
  name: string;
  default: boolean;
  metric: string;
  category: string;
  description: string;
  definition: Definition;
}

export interface Rule extends Definition {
  id: string;
  name: string;
  preset?: string;
  default: boolean;
  platform: string;
  metric: string;
  flowId: string;
  /** endpoint is the API filter ("" every call). */
  endpoint: string;
  scope: string;
  enabled: boolean;
  defaultTitle: string;
  defaultDescription: string;
  revision: number;
  createdBy: string;
  updatedBy: string;
  createdAt: string;
  updatedAt: string;
}

export interface RuleInput extends Partial<Definition> {
  name: string;
  preset?: string;
  platform?: string;
  metric?: string;
  flowId?: string;
  endpoint?: string;
  enabled?: boolean;
  revision?: number;
}

export type ChannelKind = 'email' | 'slack' | 'webhook';

export interface ChannelSettings {
  to?: string[];
  smtpHost?: string;
  smtpPort?: number;
  tls?: string;
  username?: string;
  from?: string;
  url?: string;
}

export interface Channel {
  id: string;
  name: string;
  kind: ChannelKind;
  settings: ChannelSettings;
  secretConfig: string;
  allAlerts: boolean;
  revision: number;
  createdBy: string;
  updatedBy: string;
  createdAt: string;
  updatedAt: string;
}

export interface ChannelInput {
  name: string;
  kind: ChannelKind;
  settings: ChannelSettings;
  secretConfig: string;
  allAlerts: boolean;
  revision?: number;
}

export interface Notification {
  id: number;
  issueId?: string;
  channelId?: string;
  kind: string;
  event: string;
  at: string;
  ok: boolean;
  attempts: number;
  error?: string;
}

export interface Issue {
  id: string;
  orgId: string;
  ruleId: string;
  ruleName: string;
  flowId: string;
  flowName?: string;
  metric: string;
  priority: string;
  status: string;
  value: number;
  threshold: number;
  title: string;
  description: string;
  openedAt: string;
  lastViolationAt: string;
  clearedAt?: string | null;
  acknowledgedBy?: string;
  acknowledgedAt?: string | null;
  closedBy?: string;
  closedAt?: string | null;
  closeReason?: string;
  lastNotifiedAt?: string | null;
  notifications: number;
  violationSeconds: number;
  revision: number;
}

export type Schedule = 'hourly' | 'daily' | 'interval';

export interface Report {
  id: string;
  name: string;
  flowId: string;
  enabled: boolean;
  recipients: string[];
  channelId?: string;
  schedule: Schedule;
  at?: string;
  every?: string;
  afterEachRun: boolean;
  lastSentAt?: string | null;
  revision: number;
  createdBy: string;
  updatedBy: string;
  createdAt: string;
  updatedAt: string;
}

export interface ReportInput {
  name: string;
  flowId?: string;
  enabled?: boolean;
  recipients: string[];
  channelId?: string;
  schedule: Schedule;
  at?: string;
  every?: string;
  afterEachRun: boolean;
  revision?: number;
}

export interface FileNotifications {
  flowId: string;
  onSuccess: boolean;
  onPartial: boolean;
  onFailure: boolean;
  channels: string[];
  updatedBy?: string;
  updatedAt?: string;
}
