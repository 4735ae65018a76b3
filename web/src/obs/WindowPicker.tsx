import { useId, useState } from 'react';
import { isoToLocal, PRESETS, windowError, type PresetValue, type Win } from './window';

/** WindowPicker chooses a preset window ending now or a custom range; the
 * custom range is applied only once it is valid (the server refuses the rest). */
export function WindowPicker({ value, onChange, label = 'Time window' }: { value: Win; onChange: (w: Win) => void; label?: string }) {
  const id = useId();
  const [draft, setDraft] = useState<{ from: string; to: string }>(() =>
    value.kind === 'custom' ? { from: value.from, to: value.to } : { from: isoToLocal(new Date(Date.now() - 24 * 3600e3)), to: isoToLocal(new Date()) },
  );
  const [custom, setCustom] = useState(value.kind === 'custom');
  const err = custom ? windowError({ kind: 'custom', ...draft }) : null;
  const setRange = (d: { from: string; to: string }) => {
    setDraft(d);
    if (!windowError({ kind: 'custom', ...d })) onChange({ kind: 'custom', ...d });
  };
  return (
    <div className="window-picker" role="group" aria-labelledby={id}>
      <span id={id} className="visually-hidden">
        {label}
      </span>
      <label>
        <span className="wp-label">{label}</span>
        <select
          value={custom ? 'custom' : value.kind === 'preset' ? value.value : 'custom'}
          onChange={(e) => {
            if (e.target.value === 'custom') {
              setCustom(true);
              setRange(draft);
            } else {
              setCustom(false);
              onChange({ kind: 'preset', value: e.target.value as PresetValue });
            }
          }}
        >
          {PRESETS.map((p) => (
            <option key={p.value} value={p.value}>
              {p.label}
            </option>
          ))}
          <option value="custom">Custom range…</option>
        </select>
      </label>
      {custom && (
        <>
          <label>
            <span className="wp-label">From</span>
            <input type="datetime-local" value={draft.from} onChange={(e) => setRange({ ...draft, from: e.target.value })} aria-invalid={err ? true : undefined} />
          </label>
          <label>
            <span className="wp-label">To</span>
            <input type="datetime-local" value={draft.to} onChange={(e) => setRange({ ...draft, to: e.target.value })} aria-invalid={err ? true : undefined} />
          </label>
          {err && (
            <span className="wp-error" role="alert">
              {err}
            </span>
          )}
        </>
      )}
    </div>
  );
}
