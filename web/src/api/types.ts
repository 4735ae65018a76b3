// Shapes of the server's JSON (server/routes.go, store/, control/, runstate/).

export interface User {
  id: string;
  username: string;
  displayName: string;
  platformAdmin: boolean;
  disabled: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface Membership {
  orgId: string;
  orgName?: string;
  userId: string;
  username?: string;
  displayName?: string;
  role: string;
  createdAt: string;
}

export interface LoginResponse {
  user: User;
  csrfToken: string;
  expiresAt: string;
  orgs: Membership[];
}

export interface Me {
  userId: string;
  username: string;
  orgId: string;
  role: string;
  platformAdmin: boolean;
  orgs: Membership[];
}

export interface Page<T> {
  items: T[];
  next?: string;
}

export interface Dataflow {
  id: string;
  orgId: string;
  name: string;
  description: string;
  tags: string[] | null;
  status: string;
  deactivated: boolean;
  configRevision: number;
  revision: number;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
  liveVersion: number;
  latestVersion: number;
}

export interface Version {
  id: string;
  flowId: string;
  orgId: string;
  number: number;
  state: string;
  document?: string;
  createdBy: string;
  updatedBy?: string;
  submittedBy?: string;
  approvedBy?: string;
  rejectedBy?: string;
  reason?: string;
  comment?: string;
  createdAt: string;
  updatedAt: string;
  submittedAt?: string;
  decidedAt?: string;
  liveAt?: string;
  revision: number;
  /** warnings: valid but insecure settings (plain FTP, unverified host keys), for the approver. */
  warnings?: Problem[] | null;
}

export type Role = 'viewer' | 'editor' | 'admin';

const rank: Record<string, number> = { viewer: 1, editor: 2, admin: 3 };

/** atLeast tells whether role grants the minimum role min. */
export function atLeast(role: string | undefined, min: Role): boolean {
  return (rank[role ?? ''] ?? 0) >= rank[min];
}

export interface Problem {
  path: string;
  message: string;
  position?: { line: number; column: number };
  severity?: string;
}

export interface CreateResult {
  dataflow: Dataflow;
  version: Version;
  notes?: Problem[] | null;
}

export interface SaveResult {
  version: Version;
  notes?: Problem[] | null;
}

export interface Run {
  id: string;
  orgId: string;
  flowId: string;
  flowName: string;
  versionId: string;
  version: number;
  source: string;
  fileName: string;
  filePath: string;
  fileSize: number;
  status: string;
  error?: string;
  started: string;
  finished?: string;
  recordsIn: number;
  delivered: number;
  filtered: number;
  failed: number;
  retryExhausted: number;
  avgRecordMicros: number;
  interruptions: number;
  resultName?: string;
  resultPath?: string;
  statusCodes?: Record<string, number>;
  /** base64 of a JSON array of BlockStats (Go []byte). */
  blockStats?: string;
  /** The cluster node that ran the file (the last one if another resumed it); absent on one server. */
  node?: string;
}

/** GET /api/v1/cluster (runstate.ClusterStatus). */
export interface ClusterStatus {
  /** "local": one server; "cluster": River on PostgreSQL. */
  mode: string;
  /** The node that answered. */
  node: string;
  leader: string;
  leaseSeconds?: number;
  nodes: ClusterNode[] | null;
  queues: ClusterQueue[] | null;
}

export interface ClusterNode {
  name: string;
  addr?: string;
  startedAt: string;
  seenAt: string;
  alive: boolean;
  leader: boolean;
  runningJobs: number;
}

export interface ClusterQueue {
  name: string;
  available: number;
  running: number;
  scheduled: number;
}

/** One block's counts in a run (the run's blockStats: in/out/filtered/failed;
 * engine counters spell them recordsIn/recordsOut/…). */
export interface BlockStats {
  name: string;
  type: string;
  in?: number;
  out?: number;
  filtered?: number;
  failed?: number;
  recordsIn?: number;
  recordsOut?: number;
  recordsFiltered?: number;
  recordsFailed?: number;
  errors?: number;
}

export interface FlowRuntime {
  flowId: string;
  status: string;
  liveVersion: number;
  inFlight: number;
  lastPoll?: string;
  nextRun?: string;
  draining?: number[];
  deployment?: string;
  deployError?: string;
}

export interface ConfigView {
  name: string;
  value: string;
  isSecret: boolean;
  revision: number;
  createdBy: string;
  updatedBy: string;
  approvedBy: string;
  createdAt: string;
  updatedAt: string;
  syncedAt?: string;
}

/** A reconciliation's counts (spec §8): rows compared (expected), present (CAP_API_STATUS 1), missing (0). */
export interface ReconTotals {
  rows: number;
  expected: number;
  present: number;
  missing: number;
  mismatched: number;
  duplicates: number;
  beforeFromYear: number;
  invalid: number;
}

/** What a diff_tool block reported about one run of a dataflow, kept by the server. */
export interface Reconciliation {
  id: string;
  orgId: string;
  flowId: string;
  flowName: string;
  version: number;
  runId: string;
  block: string;
  file: string;
  /** Which source answered: sandbox, capillary-api or ledger. */
  source: string;
  entityType: string;
  diffPath?: string;
  started: string;
  finished: string;
  totals: ReconTotals;
  lookupRequests: number;
  resumedRows?: number;
  matchedOn: string[] | null;
  compared: string[] | null;
  unverified?: string[] | null;
  fromYear?: number;
  records: number;
  resultName?: string;
  /** saving while a large report's records are still being stored, then finished (or failed). */
  status?: 'saving' | 'finished' | 'failed';
}

export interface ReconField {
  field: string;
  column: string;
  source: string;
  destination: string;
}

/** One source row that is missing, mismatched, duplicated at the destination or not comparable. */
export interface ReconRecord {
  line: number;
  kind: 'missing' | 'mismatch' | 'duplicate' | 'invalid';
  key: Record<string, string>;
  entityId?: string;
  matches?: number;
  fields?: ReconField[] | null;
  reason?: string;
}
