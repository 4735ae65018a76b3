// Preview: run the unsaved document over a sample (POST /api/v1/preview)
// and show what each block received and sent, what failed or was filtered,
// and the HTTP requests a destination would have sent.
import { useState, type FormEvent } from 'react';
import { useMutation } from '@tanstack/react-query';
import { ApiError, client } from '../api/client';
import type { Problem } from '../api/types';
import { ErrorBox } from '../ui/common';
import type { Doc } from './model';

export interface Unit {
  kind: 'file' | 'records';
  name?: string;
  records?: Record<string, unknown>[];
  text?: string;
}

export interface PreviewBlock {
  name: string;
  type: string;
  /** replaced: how the preview stood in for the block (sample, sandbox, capture, skipped). */
  replaced?: string;
  in: Unit[];
  /** out: the units sent, as a list or by relation. */
  out: Unit[] | Record<string, Unit[]>;
  failed: { record?: unknown; reason: string; line?: number; code?: number }[];
  filtered: number;
  recordsIn?: number;
  recordsOut?: number;
  requests?: { method: string; url: string; headers?: Record<string, string | string[]>; body?: string; status?: number }[];
  error?: string;
}

export interface PreviewResult {
  problems: Problem[];
  warnings: string[];
  blocks: PreviewBlock[];
  truncated: boolean;
  timedOut?: boolean;
  files?: { name: string; status: string; error?: string; result?: string; resultName?: string }[];
}

/** outUnits flattens a block's output, naming the relation of each unit. */
export function outUnits(out: PreviewBlock['out'] | undefined): (Unit & { relation?: string })[] {
  if (!out) return [];
  if (Array.isArray(out)) return out;
  return Object.entries(out).flatMap(([rel, us]) => (us ?? []).map((u) => ({ ...u, relation: rel })));
}

const MAX_SAMPLE = 5 * 1024 * 1024;

export function PreviewPanel({ document, onClose }: { document: Doc; onClose: () => void }) {
  const [sample, setSample] = useState('');
  const [sampleName, setSampleName] = useState('sample.csv');
  const [maxRecords, setMaxRecords] = useState(20);
  const [localError, setLocalError] = useState<string | null>(null);
  const m = useMutation({
    mutationFn: async () => {
      try {
        return await client.post<PreviewResult>('/preview', { document: JSON.stringify(document), format: 'json', sample, sampleName, maxRecords });
      } catch (e) {
        // 422: the document does not compile; the body carries the problems.
        if (e instanceof ApiError && e.status === 422 && e.body && typeof e.body === 'object' && 'problems' in e.body) return e.body as PreviewResult;
        throw e;
      }
    },
  });
  const onFile = async (f?: File) => {
    if (!f) return;
    if (f.size > MAX_SAMPLE) {
      setLocalError(`The sample is ${(f.size / 1048576).toFixed(1)} MB; the preview takes at most 5 MB.`);
      return;
    }
    setLocalError(null);
    setSample(await f.text());
    setSampleName(f.name);
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    m.mutate();
  };
  const err = m.error;
  const rateLimited = err instanceof ApiError && err.status === 429;
  const tooBig = err instanceof ApiError && err.status === 413;
  return (
    <section className="preview-panel" aria-label="Preview">
      <header className="row">
        <h2>Preview</h2>
        <span className="hint">Runs the canvas as it is now (saved or not) over a sample. Nothing is sent: destinations show the requests they would make.</span>
        <span className="spacer" />
        <button type="button" onClick={onClose} aria-label="Close the preview">
          Close
        </button>
      </header>
      <form className="preview-form" onSubmit={submit}>
        <label>
          Sample file
          <input type="file" onChange={(e) => void onFile(e.target.files?.[0])} />
        </label>
        <label>
          Max records
          <input type="number" min={1} max={200} value={maxRecords} onChange={(e) => setMaxRecords(Math.max(1, Math.min(200, Number(e.target.value) || 20)))} />
        </label>
        <label className="grow">
          or paste the sample ({sampleName})
          <textarea className="code" rows={3} value={sample} onChange={(e) => setSample(e.target.value)} spellCheck={false} />
        </label>
        <button type="submit" className="primary" disabled={m.isPending || !sample}>
          {m.isPending ? 'Running…' : 'Run preview'}
        </button>
      </form>
      {localError && (
        <div className="error-box" role="alert">
          {localError}
        </div>
      )}
      {rateLimited && <p className="notice">Too many previews: at most 10 a minute. Wait a moment and try again.</p>}
      {tooBig && <p className="notice">The sample is over 5 MB.</p>}
      <ErrorBox error={err} />
      {m.data && <PreviewResultView r={m.data} />}
    </section>
  );
}

function PreviewResultView({ r }: { r: PreviewResult }) {
  const [sel, setSel] = useState(0);
  const blocks = r.blocks ?? [];
  const b = blocks[Math.min(sel, blocks.length - 1)];
  return (
    <div className="preview-result">
      {r.problems?.length > 0 && (
        <div className="error-box" role="alert">
          The document does not compile:
          <ul>
            {r.problems.map((p, i) => (
              <li key={i}>
                <code>{p.path}</code> {p.message}
              </li>
            ))}
          </ul>
        </div>
      )}
      {r.warnings?.length > 0 && (
        <ul className="notice">
          {r.warnings.map((w, i) => (
            <li key={i}>{w}</li>
          ))}
        </ul>
      )}
      {r.truncated && <p className="notice">Only the first records were previewed (Max records).</p>}
      {r.timedOut && <p className="notice">The preview hit its time limit: what ran is shown.</p>}
      {r.files && r.files.length > 0 && (
        <p className="hint">
          {r.files.map((f) => (
            <span key={f.name}>
              {f.name}: <strong>{f.status}</strong>
              {f.error ? ` (${f.error})` : ''}{' '}
            </span>
          ))}
        </p>
      )}
      {blocks.length > 0 && (
        <div className="preview-blocks">
          <div role="tablist" aria-label="Blocks" className="tabs">
            {blocks.map((x, i) => (
              <button key={x.name} type="button" role="tab" aria-selected={i === sel} onClick={() => setSel(i)} className={i === sel ? 'active' : ''}>
                {x.name}
                {x.failed?.length ? <span className="problem-count">{x.failed.length}</span> : null}
              </button>
            ))}
          </div>
          {b && (
            <div role="tabpanel" className="preview-block">
              <p className="hint">
                <code>{b.type}</code>
                {b.replaced ? ` (preview: ${b.replaced})` : ''} · {b.recordsIn ?? count(b.in)} in · {b.recordsOut ?? count(outUnits(b.out))} out · {b.failed?.length ?? 0} failed · {b.filtered ?? 0} filtered
              </p>
              {b.error && <div className="error-box">{b.error}</div>}
              <div className="io">
                <Units title="Input" units={b.in} />
                <Units title="Output" units={outUnits(b.out)} />
              </div>
              {b.failed?.length > 0 && (
                <>
                  <h3>Failed</h3>
                  <table className="grid" aria-label="Failed records">
                    <thead>
                      <tr>
                        <th>Line</th>
                        <th>Reason</th>
                        <th>Record</th>
                      </tr>
                    </thead>
                    <tbody>
                      {b.failed.map((f, i) => (
                        <tr key={i}>
                          <td className="num">{f.line ?? ''}</td>
                          <td>
                            {f.code ? `${f.code} ` : ''}
                            {f.reason}
                          </td>
                          <td>
                            <code>{f.record === undefined ? '—' : JSON.stringify(f.record)}</code>
                          </td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </>
              )}
              {b.requests && b.requests.length > 0 && (
                <>
                  <h3>HTTP requests it would send ({b.requests.length})</h3>
                  {b.requests.map((q, i) => (
                    <details key={i} open={i === 0}>
                      <summary>
                        <code>
                          {q.method} {q.url}
                        </code>
                        {q.status ? <span className="hint"> → sandbox answered {q.status}</span> : null}
                      </summary>
                      {q.headers && (
                        <pre tabIndex={0}>
                          {Object.entries(q.headers)
                            .map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(', ') : v}`)
                            .join('\n')}
                        </pre>
                      )}
                      {q.body && <pre tabIndex={0}>{pretty(q.body)}</pre>}
                    </details>
                  ))}
                </>
              )}
            </div>
          )}
        </div>
      )}
    </div>
  );
}

function count(us: Unit[] = []): string {
  const recs = us.reduce((n, u) => n + (u.records?.length ?? 0), 0);
  const files = us.filter((u) => u.kind === 'file').length;
  return [files ? `${files} file${files > 1 ? 's' : ''}` : '', recs ? `${recs} record${recs > 1 ? 's' : ''}` : ''].filter(Boolean).join(', ') || '0';
}

function pretty(s: string): string {
  try {
    return JSON.stringify(JSON.parse(s), null, 2);
  } catch {
    return s;
  }
}

function Units({ title, units = [] }: { title: string; units?: (Unit & { relation?: string })[] }) {
  const [json, setJson] = useState(false);
  return (
    <div className="units">
      <div className="row">
        <h3>{title}</h3>
        <label className="inline hint">
          <input type="checkbox" checked={json} onChange={(e) => setJson(e.target.checked)} /> JSON
        </label>
      </div>
      {units.length === 0 && <p className="hint">nothing</p>}
      {units.map((u, i) => (
        <div key={i} className="unit">
          <div className="hint">
            {u.relation ? u.relation + ' · ' : ''}
            {u.kind}
            {u.name ? ' · ' + u.name : ''}
          </div>
          {json ? <pre tabIndex={0}>{JSON.stringify(u.kind === 'records' ? u.records : u.text, null, 2)}</pre> : u.kind === 'records' ? <RecordTable records={u.records ?? []} /> : <pre tabIndex={0}>{u.text}</pre>}
        </div>
      ))}
    </div>
  );
}

export function RecordTable({ records }: { records: Record<string, unknown>[] }) {
  const cols: string[] = [];
  for (const r of records) for (const k of Object.keys(r ?? {})) if (!cols.includes(k)) cols.push(k);
  if (!records.length) return <p className="hint">no records</p>;
  return (
    <div className="table-scroll">
      <table className="grid compact">
        <thead>
          <tr>
            <th>#</th>
            {cols.map((c) => (
              <th key={c}>{c}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {records.map((r, i) => (
            <tr key={i}>
              <td className="num">{i + 1}</td>
              {cols.map((c) => (
                <td key={c}>{cell(r?.[c])}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function cell(v: unknown): string {
  if (v === undefined) return '';
  if (v === null) return 'null';
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}
