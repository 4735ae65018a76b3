import { useEffect, useId, useRef, type ReactNode } from 'react';
import { ApiError, describe } from '../api/client';
import { Link } from '../router';

/** ErrorBox shows an error's message and, for server errors, its request id. */
export function ErrorBox({ error, title }: { error: unknown; title?: string }) {
  if (!error) return null;
  const d = describe(error);
  return (
    <div className="error-box" role="alert">
      {title && <strong>{title}: </strong>}
      <span className="error-message">{d.message}</span>
      {d.requestId && (
        <span className="request-id">
          {' '}
          (request id <code>{d.requestId}</code>)
        </span>
      )}
      {error instanceof ApiError && error.fields.length > 0 && (
        <ul className="error-fields">
          {error.fields.map((f, i) => (
            <li key={i}>
              {f.line ? `line ${f.line}${f.column ? ':' + f.column : ''}: ` : ''}
              {f.path && <code>{f.path}</code>} {f.message}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

export interface Crumb {
  label: string;
  to?: string;
}

export function Breadcrumbs({ items }: { items: Crumb[] }) {
  return (
    <nav aria-label="Breadcrumb" className="breadcrumbs">
      <ol>
        {items.map((c, i) => (
          <li key={i}>
            {c.to && i < items.length - 1 ? <Link to={c.to}>{c.label}</Link> : <span aria-current={i === items.length - 1 ? 'page' : undefined}>{c.label}</span>}
          </li>
        ))}
      </ol>
    </nav>
  );
}

/** Modal is a native modal <dialog>: focus is trapped and Escape closes it. */
export function Modal({ title, open, onClose, children, wide }: { title: string; open: boolean; onClose: () => void; children: ReactNode; wide?: boolean }) {
  const ref = useRef<HTMLDialogElement>(null);
  const id = useId();
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (open && !d.open) {
      if (typeof d.showModal === 'function') d.showModal();
      else d.setAttribute('open', '');
    } else if (!open && d.open) d.close();
  }, [open]);
  return (
    <dialog ref={ref} className={wide ? 'modal wide' : 'modal'} aria-labelledby={id} onClose={onClose} onCancel={onClose}>
      {open && (
        <>
          <header className="modal-head">
            <h2 id={id}>{title}</h2>
            <button type="button" className="icon" aria-label="Close" onClick={onClose}>
              ×
            </button>
          </header>
          <div className="modal-body">{children}</div>
        </>
      )}
    </dialog>
  );
}

export function Spinner({ label = 'Loading…' }: { label?: string }) {
  return (
    <div className="spinner" role="status">
      {label}
    </div>
  );
}

export function fmtTime(s?: string | null): string {
  if (!s) return '—';
  const d = new Date(s);
  if (isNaN(d.getTime()) || d.getFullYear() < 2) return '—';
  return d.toLocaleString();
}

export function StateBadge({ state }: { state: string }) {
  return <span className={'badge state-' + state.toLowerCase()}>{state}</span>;
}

/** download saves a Blob under name. */
export function saveBlob(blob: Blob, name: string) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
