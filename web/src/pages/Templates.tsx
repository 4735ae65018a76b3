import { useId, useMemo, useState, type FormEvent } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { ApiError, client } from '../api/client';
import type { ConfigView, CreateResult, Problem } from '../api/types';
import { useNavigate } from '../router';
import { ErrorBox, Spinner } from '../ui/common';
import { ProblemsList } from './Version';

// The template gallery of the New dataflow dialog (issue 18): the catalogue
// of GET /api/v1/templates by category, a form generated from a template's
// parameters, a preview of the rendered document over the template's own
// sample, and Create (instantiate) opening the new Draft's canvas.

export interface TemplateParam {
  name: string;
  label: string;
  description?: string;
  type: string;
  default?: string;
  required?: boolean;
  secret?: boolean;
  options?: string[];
}

export interface Template {
  name: string;
  label: string;
  category: string;
  description: string;
  destination: string;
  spec?: string;
  blocks: string[];
  parameters: TemplateParam[];
  samples?: string[];
}

interface TemplateDetail extends Template {
  sampleFiles?: { name: string; size?: number; content: string }[];
}

interface RenderResult {
  document: string;
  valid: boolean;
  problems: Problem[];
}

interface PreviewSummary {
  problems?: Problem[];
  warnings?: string[];
  /** counts: the server's Go struct has no JSON tags today (In, Delivered…); the contract spells them in lower case. */
  counts?: Record<string, number>;
  files?: { name: string; status: string; error?: string; result?: string; resultName?: string }[];
  truncated?: boolean;
}

/** matchTemplate says whether every word of q is in the template's label, name, category, destination, description or blocks. */
export function matchTemplate(t: Template, q: string): boolean {
  const hay = [t.label, t.name, t.category, t.destination, t.description, ...(t.blocks ?? [])].join(' ').toLowerCase();
  return q
    .toLowerCase()
    .split(/\s+/)
    .filter(Boolean)
    .every((w) => hay.includes(w));
}

/** defaultValues is the parameter form's first state: each parameter's default, as a string. */
export function defaultValues(params: TemplateParam[]): Record<string, string> {
  const v: Record<string, string> = {};
  for (const p of params) v[p.name] = p.default ?? (p.type === 'boolean' ? 'false' : '');
  return v;
}

/** paramValues is what is sent: the non-empty values (the server uses the defaults for the rest). */
export function paramValues(values: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(values)) if (v !== '') out[k] = v;
  return out;
}

/** count reads a preview count under its contract (lower case) or Go (capitalised) spelling. */
export function count(c: Record<string, number>, k: string): number {
  return c[k] ?? c[k[0].toUpperCase() + k.slice(1)] ?? 0;
}

/** problemsOf reads the problems of a 422 answer. */
function problemsOf(e: unknown): Problem[] | null {
  if (e instanceof ApiError && e.status === 422 && e.body && typeof e.body === 'object' && 'problems' in e.body) return (e.body as { problems: Problem[] }).problems ?? [];
  return null;
}

export function TemplateGallery({ onClose }: { onClose: () => void }) {
  const list = useQuery({ queryKey: ['templates'], queryFn: () => client.get<{ categories: string[]; templates: Template[] }>('/templates') });
  const [q, setQ] = useState('');
  const [picked, setPicked] = useState<Template | null>(null);
  const groups = useMemo(() => {
    const ts = (list.data?.templates ?? []).filter((t) => matchTemplate(t, q));
    const cats = list.data?.categories ?? [];
    const order = [...cats, ...ts.map((t) => t.category).filter((c) => !cats.includes(c))];
    return [...new Set(order)].map((c) => ({ category: c, items: ts.filter((t) => t.category === c) })).filter((g) => g.items.length);
  }, [list.data, q]);
  if (picked) return <TemplateForm t={picked} onBack={() => setPicked(null)} onClose={onClose} />;
  return (
    <div className="stack template-gallery">
      <ErrorBox error={list.error} />
      <label>
        Search templates
        <input type="search" value={q} onChange={(e) => setQ(e.target.value)} placeholder="e.g. transaction, badges, S3" autoFocus />
      </label>
      {list.isLoading && <Spinner />}
      {groups.map((g) => (
        <section key={g.category} aria-label={g.category}>
          <h3>{g.category}</h3>
          <ul className="template-cards">
            {g.items.map((t) => (
              <li key={t.name}>
                <button type="button" className="template-card" data-template={t.name} onClick={() => setPicked(t)}>
                  <span className="tc-label">{t.label}</span>
                  <span className="tc-dest">{t.destination}</span>
                  <span className="tc-desc">{t.description.split('\n')[0]}</span>
                  <span className="tc-blocks hint">{t.blocks.length} blocks</span>
                </button>
              </li>
            ))}
          </ul>
        </section>
      ))}
      {list.data && groups.length === 0 && <p className="hint">No template matches “{q}”.</p>}
    </div>
  );
}

function TemplateForm({ t, onBack, onClose }: { t: Template; onBack: () => void; onClose: () => void }) {
  const navigate = useNavigate();
  const qc = useQueryClient();
  const configs = useQuery({ queryKey: ['configs'], queryFn: () => client.get<ConfigView[]>('/configs') });
  const [name, setName] = useState(t.label);
  const [values, setValues] = useState(() => defaultValues(t.parameters));
  const set = (k: string, v: string) => setValues((s) => ({ ...s, [k]: v }));
  const preview = useMutation({
    mutationFn: async (): Promise<{ render: RenderResult; preview?: PreviewSummary }> => {
      let render: RenderResult;
      try {
        render = await client.post<RenderResult>(`/templates/${encodeURIComponent(t.name)}/render`, { parameters: paramValues(values) });
      } catch (e) {
        const p = problemsOf(e);
        if (p) return { render: { document: '', valid: false, problems: p } };
        throw e;
      }
      if (!render.valid) return { render };
      const detail = await client.get<TemplateDetail>(`/templates/${encodeURIComponent(t.name)}`);
      const sample = detail.sampleFiles?.[0];
      if (!sample) return { render };
      try {
        const preview = await client.post<PreviewSummary>('/preview', { document: render.document, sample: sample.content, sampleName: sample.name });
        return { render, preview };
      } catch (e) {
        const p = problemsOf(e);
        if (p) return { render, preview: { problems: p } };
        throw e;
      }
    },
  });
  const create = useMutation({
    mutationFn: () => client.post<CreateResult>(`/templates/${encodeURIComponent(t.name)}/instantiate`, { name, parameters: paramValues(values) }),
    onSuccess: (r) => {
      void qc.invalidateQueries({ queryKey: ['dataflows'] });
      onClose();
      navigate(`/dataflows/${r.dataflow.id}/versions/${r.version.number}/canvas`);
    },
  });
  const createProblems = problemsOf(create.error);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate();
  };
  const r = preview.data;
  return (
    <form className="stack template-form" onSubmit={submit} aria-label={`Template ${t.label}`}>
      <div>
        <button type="button" className="link" onClick={onBack}>
          ← All templates
        </button>
      </div>
      <h3>{t.label}</h3>
      <p className="hint">
        {t.category} · {t.destination} · blocks {t.blocks.join(' → ')}
      </p>
      <p className="template-desc">{t.description}</p>
      <label>
        Name <span className="req" aria-hidden="true">*</span>
        <input required value={name} onChange={(e) => setName(e.target.value)} />
      </label>
      <fieldset className="template-params">
        <legend>Parameters</legend>
        {t.parameters.map((p) => (
          <ParamField key={p.name} p={p} value={values[p.name] ?? ''} configs={configs.data ?? []} onChange={(v) => set(p.name, v)} />
        ))}
      </fieldset>
      <ErrorBox error={preview.error} title="Preview failed" />
      {r && (
        <section className="template-preview" aria-label="Sample preview" role="status">
          {r.render.problems.length > 0 && <ProblemsList problems={r.render.problems} />}
          {!r.render.valid && <p className="error-box">The parameters do not make a valid dataflow.</p>}
          {r.preview?.problems && r.preview.problems.length > 0 && <ProblemsList problems={r.preview.problems} />}
          {r.preview?.counts && (
            <p className="preview-counts">
              Sample: {count(r.preview.counts, 'in')} in, {count(r.preview.counts, 'delivered')} delivered, {count(r.preview.counts, 'filtered')} filtered, {count(r.preview.counts, 'failed')} failed
            </p>
          )}
          {r.preview?.files?.map((f) => (
            <div key={f.name}>
              <p>
                <code>{f.name}</code>: {f.status}
                {f.error ? ` — ${f.error}` : ''}
              </p>
              {f.result && (
                <pre tabIndex={0} aria-label={`Result file ${f.resultName ?? f.name}`}>
                  {f.result}
                </pre>
              )}
            </div>
          ))}
        </section>
      )}
      {createProblems ? (
        <>
          <p className="error-box" role="alert">
            Not created: the dataflow does not validate.
          </p>
          <ProblemsList problems={createProblems} />
        </>
      ) : (
        <ErrorBox error={create.error} title="Not created" />
      )}
      <div className="actions">
        <button type="button" disabled={preview.isPending} onClick={() => preview.mutate()}>
          {preview.isPending ? 'Previewing…' : 'Preview sample'}
        </button>
        <button type="submit" className="primary" disabled={create.isPending}>
          Create from the template
        </button>
      </div>
    </form>
  );
}

function ParamField({ p, value, configs, onChange }: { p: TemplateParam; value: string; configs: ConfigView[]; onChange: (v: string) => void }) {
  const id = useId();
  const hint = p.description ? id + '-hint' : undefined;
  const common = { id, 'data-param': p.name, 'aria-describedby': hint, required: !!p.required && p.type !== 'boolean' };
  let input;
  if (p.secret) {
    // Secrets are never typed in: the value names an Extension Configuration.
    const list = [...configs].sort((a, b) => Number(b.isSecret) - Number(a.isSecret));
    input = (
      <select {...common} value={value} onChange={(e) => onChange(e.target.value)}>
        <option value="">— choose an Extension Configuration —</option>
        {list.map((c) => (
          <option key={c.name} value={c.name}>
            {c.name}
            {c.isSecret ? ' (secret)' : ''}
          </option>
        ))}
        {value && !configs.some((c) => c.name === value) && <option value={value}>{value} (missing)</option>}
      </select>
    );
  } else if (p.type === 'boolean') {
    input = <input {...common} type="checkbox" checked={value === 'true'} onChange={(e) => onChange(e.target.checked ? 'true' : 'false')} />;
  } else if (p.type === 'enum' && p.options) {
    input = (
      <select {...common} value={value} onChange={(e) => onChange(e.target.value)}>
        {!p.required && <option value="">—</option>}
        {p.options.map((o) => (
          <option key={o} value={o}>
            {o}
          </option>
        ))}
      </select>
    );
  } else {
    input = <input {...common} type={p.type === 'integer' ? 'number' : 'text'} value={value} onChange={(e) => onChange(e.target.value)} />;
  }
  return (
    <div className={'field' + (p.type === 'boolean' ? ' toggle' : '')}>
      <label htmlFor={id}>
        {p.label}
        {p.required && p.type !== 'boolean' && (
          <>
            {' '}
            <span className="req" aria-hidden="true">
              *
            </span>
            <span className="visually-hidden"> (required)</span>
          </>
        )}
        {p.secret && <span className="hint"> (Extension Configuration)</span>}
      </label>
      {input}
      {p.description && (
        <p id={hint} className="hint">
          {p.description}
        </p>
      )}
    </div>
  );
}
