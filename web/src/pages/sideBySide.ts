// Side-by-side comparison of two versions' documents (the dataflow page's
// "Compare versions"), and the marks the canvas shows for a comparison
// (?diff=N on a version's canvas). Pure functions: the server's diff
// (GET /dataflows/{id}/diff) says what changed block by block; this lays the
// two documents out line against line.

export type RowKind = 'same' | 'del' | 'add' | 'change' | 'skip';

export interface Side {
  /** n is the 1-based line number in that document. */
  n: number;
  text: string;
}

export interface Row {
  kind: RowKind;
  left?: Side;
  right?: Side;
  /** skipped is the number of unchanged lines a 'skip' row stands for. */
  skipped?: number;
}

/** lines splits a document into lines, without a last empty one. */
function lines(s: string): string[] {
  const out = s.replace(/\r\n/g, '\n').split('\n');
  if (out.length && out[out.length - 1] === '') out.pop();
  return out;
}

/**
 * sideBySide lays out documents a and b line against line: unchanged lines
 * on both sides, a run of removed lines next to the run of added lines that
 * replaced it ('change' rows, then the longer run's rest as 'del' or 'add').
 * Runs of more than 2 × context unchanged lines are folded into one 'skip'
 * row (context < 0 keeps every line). The alignment is a longest common
 * subsequence of lines, so a moved block shows as removed and added.
 */
export function sideBySide(a: string, b: string, context = 3): Row[] {
  const A = lines(a);
  const B = lines(b);
  // Common prefix and suffix first: documents differ in few places, and the
  // table below is then small.
  let pre = 0;
  while (pre < A.length && pre < B.length && A[pre] === B[pre]) pre++;
  let suf = 0;
  while (suf < A.length - pre && suf < B.length - pre && A[A.length - 1 - suf] === B[B.length - 1 - suf]) suf++;
  const a1 = A.slice(pre, A.length - suf);
  const b1 = B.slice(pre, B.length - suf);
  // lcs[i][j]: the length of the longest common subsequence of a1[i:] and b1[j:].
  const lcs: Uint32Array[] = Array.from({ length: a1.length + 1 }, () => new Uint32Array(b1.length + 1));
  for (let i = a1.length - 1; i >= 0; i--) {
    for (let j = b1.length - 1; j >= 0; j--) {
      lcs[i][j] = a1[i] === b1[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  const rows: Row[] = [];
  for (let k = 0; k < pre; k++) rows.push({ kind: 'same', left: { n: k + 1, text: A[k] }, right: { n: k + 1, text: B[k] } });
  let dels: Side[] = [];
  let adds: Side[] = [];
  const flush = () => {
    const n = Math.max(dels.length, adds.length);
    for (let k = 0; k < n; k++) {
      const l = dels[k];
      const r = adds[k];
      rows.push({ kind: l && r ? 'change' : l ? 'del' : 'add', left: l, right: r });
    }
    dels = [];
    adds = [];
  };
  let i = 0;
  let j = 0;
  while (i < a1.length || j < b1.length) {
    if (i < a1.length && j < b1.length && a1[i] === b1[j]) {
      flush();
      rows.push({ kind: 'same', left: { n: pre + i + 1, text: a1[i] }, right: { n: pre + j + 1, text: b1[j] } });
      i++;
      j++;
    } else if (j >= b1.length || (i < a1.length && lcs[i + 1][j] >= lcs[i][j + 1])) {
      dels.push({ n: pre + i + 1, text: a1[i] });
      i++;
    } else {
      adds.push({ n: pre + j + 1, text: b1[j] });
      j++;
    }
  }
  flush();
  for (let k = 0; k < suf; k++) {
    const ia = A.length - suf + k;
    const ib = B.length - suf + k;
    rows.push({ kind: 'same', left: { n: ia + 1, text: A[ia] }, right: { n: ib + 1, text: B[ib] } });
  }
  return context < 0 ? rows : fold(rows, context);
}

/** fold keeps context unchanged lines around each change and folds the rest. */
function fold(rows: Row[], context: number): Row[] {
  const out: Row[] = [];
  let k = 0;
  while (k < rows.length) {
    if (rows[k].kind !== 'same') {
      out.push(rows[k++]);
      continue;
    }
    let end = k;
    while (end < rows.length && rows[end].kind === 'same') end++;
    const first = k === 0;
    const last = end === rows.length;
    const keepHead = first ? 0 : context;
    const keepTail = last ? 0 : context;
    const run = end - k;
    if (run > keepHead + keepTail + 1) {
      out.push(...rows.slice(k, k + keepHead));
      out.push({ kind: 'skip', skipped: run - keepHead - keepTail });
      out.push(...rows.slice(end - keepTail, end));
    } else {
      out.push(...rows.slice(k, end));
    }
    k = end;
  }
  return out;
}

/** What the server's diff says (control.DiffResult.changes, dataflow.Changes). */
export interface Changes {
  fields?: { path: string }[];
  tagsAdded?: string[];
  tagsRemoved?: string[];
  added?: { name: string; type: string }[];
  removed?: { name: string; type: string }[];
  renamed?: { from: string; to: string; type: string }[];
  changed?: { name: string; type: string; fields?: { path: string }[]; relationsAdded?: unknown[]; relationsRemoved?: unknown[]; moved?: boolean }[];
  moved?: string[];
}

/** changesEmpty tells whether the diff found no difference at all. */
export function changesEmpty(c: Changes | undefined): boolean {
  if (!c) return true;
  return ![c.fields, c.tagsAdded, c.tagsRemoved, c.added, c.removed, c.renamed, c.changed, c.moved].some((l) => (l?.length ?? 0) > 0);
}

export type Mark = 'added' | 'changed' | 'renamed' | 'moved';

export interface CanvasMarks {
  /** marks: per block name in the newer version, how it differs. */
  marks: Map<string, Mark>;
  /** removed: the blocks only the older version has. */
  removed: string[];
  /** renamedFrom: per new name, the block's old name. */
  renamedFrom: Map<string, string>;
}

/**
 * canvasMarks turns a diff into the marks of the newer version's blocks: a
 * block that changed what it does (config, type, connections) is 'changed'
 * even when it was also renamed or moved; one only renamed is 'renamed';
 * one only moved on the canvas is 'moved'.
 */
export function canvasMarks(c: Changes): CanvasMarks {
  const marks = new Map<string, Mark>();
  const renamedFrom = new Map<string, string>();
  for (const b of c.added ?? []) marks.set(b.name, 'added');
  for (const n of c.moved ?? []) marks.set(n, 'moved');
  for (const r of c.renamed ?? []) {
    marks.set(r.to, 'renamed');
    renamedFrom.set(r.to, r.from);
  }
  for (const b of c.changed ?? []) {
    const real = (b.fields?.length ?? 0) > 0 || (b.relationsAdded?.length ?? 0) > 0 || (b.relationsRemoved?.length ?? 0) > 0;
    if (real) marks.set(b.name, 'changed');
    else if (!marks.has(b.name) && b.moved) marks.set(b.name, 'moved');
  }
  return { marks, removed: (c.removed ?? []).map((b) => b.name), renamedFrom };
}

/** marksSummary is the sentence the canvas banner starts with. */
export function marksSummary(m: CanvasMarks): string {
  const count = (k: Mark) => [...m.marks.values()].filter((v) => v === k).length;
  const parts: string[] = [];
  for (const [k, word] of [
    ['added', 'added'],
    ['changed', 'changed'],
    ['renamed', 'renamed'],
    ['moved', 'moved only'],
  ] as [Mark, string][]) {
    const n = count(k);
    if (n) parts.push(`${n} ${word}`);
  }
  if (m.removed.length) parts.push(`${m.removed.length} removed (${m.removed.join(', ')})`);
  return parts.length ? parts.join(', ') : 'no block differs';
}
