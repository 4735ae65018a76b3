import { useId, useState } from 'react';
import { isoToLocal, PRESETS, windowError, type PresetValue, type Win } from './window';

/** WindowPicker chooses a preset window ending now or a custom range; the
 * custom range is applied only once it is valid (the server refuses the rest).
 * Labels are tied by id (not wrapped) so each control's name is the label alone. */
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
    <div className="window-picker">
      <div className="wp-field">
        <label htmlFor={id + 'w'}>{label}</label>
        <select
          id={id + 'w'}
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
      </div>
      {custom && (
        <>
          <div className="wp-field">
            <label htmlFor={id + 'f'}>From</label>
            <input id={id + 'f'} type="datetime-local" value={draft.from} onChange={(e) => setRange({ ...draft, from: e.target.value })} aria-invalid={err ? true : undefined} />
          </div>
          <div className="wp-field">
            <label htmlFor={id + 't'}>To</label>
            <input id={id + 't'} type="datetime-local" value={draft.to} onChange={(e) => setRange({ ...draft, to: e.target.value })} aria-invalid={err ? true : undefined} />
          </div>
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
