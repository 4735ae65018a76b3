import { useId } from 'react';
import type { ConfigView } from '../api/types';
import type { BlockInfo } from './catalogue';
import { extraKeys, formFields, isConfigRef, placeholderOf, setField, textShown, textValue, toggleShown, toggleValue, type FormField } from './form';

export interface FieldProblem {
  field?: string;
  message: string;
}

interface Props {
  spec: BlockInfo;
  config: Record<string, unknown>;
  configs: ConfigView[];
  problems: FieldProblem[];
  readOnly: boolean;
  onChange: (config: Record<string, unknown>, field: string) => void;
}

/** ConfigForm is the block's config form, generated from its JSON Schema. */
export function ConfigForm({ spec, config, configs, problems, readOnly, onChange }: Props) {
  const fields = formFields(spec.schema, spec);
  const basic = fields.filter((f) => !f.advanced);
  const advanced = fields.filter((f) => f.advanced);
  const extras = extraKeys(config, fields);
  const byField = (k: string) => problems.filter((p) => p.field === k);
  const advancedHasProblem = advanced.some((f) => byField(f.key).length > 0 || config[f.key] !== undefined);
  const render = (f: FormField) => (
    <FieldInput
      key={f.key}
      f={f}
      value={config[f.key]}
      configs={configs}
      problems={byField(f.key)}
      readOnly={readOnly}
      onChange={(v) => onChange(setField(config, f.key, v), f.key)}
    />
  );
  return (
    <div className="config-form">
      {basic.map(render)}
      {advanced.length > 0 && (
        <details open={advancedHasProblem || undefined}>
          <summary>Advanced ({advanced.length})</summary>
          {advanced.map(render)}
        </details>
      )}
      {extras.length > 0 && (
        <details open>
          <summary>Other keys ({extras.length})</summary>
          <p className="hint">Keys the form does not show (legacy spellings or unknown keys), as JSON values. Clear one to remove it.</p>
          {extras.map((k) => (
            <ExtraInput key={k} k={k} value={config[k]} readOnly={readOnly} problems={byField(k)} onChange={(v) => onChange(setField(config, k, v), k)} />
          ))}
        </details>
      )}
    </div>
  );
}

function Problems({ id, problems }: { id: string; problems: FieldProblem[] }) {
  if (!problems.length) return null;
  return (
    <div id={id} className="field-problems" role="alert">
      {problems.map((p, i) => (
        <div key={i}>{p.message}</div>
      ))}
    </div>
  );
}

function FieldInput({ f, value, configs, problems, readOnly, onChange }: { f: FormField; value: unknown; configs: ConfigView[]; problems: FieldProblem[]; readOnly: boolean; onChange: (v: unknown) => void }) {
  const id = useId();
  const pid = id + '-p';
  const did = id + '-d';
  const invalid = problems.length > 0;
  const common = {
    id,
    disabled: readOnly,
    'aria-invalid': invalid || undefined,
    'aria-describedby': [f.description ? did : '', invalid ? pid : ''].filter(Boolean).join(' ') || undefined,
    'aria-required': f.required || undefined,
    'data-field': f.key,
  };
  const label = (
    <span className="field-label">
      {f.label}
      {f.required && (
        <span className="req" title="required">
          {' '}
          *<span className="visually-hidden"> (required)</span>
        </span>
      )}
      {f.expressions && <span className="chip" title="NiFi Expression Language ${…} is evaluated">expr</span>}
    </span>
  );
  let input;
  switch (f.widget) {
    case 'toggle':
      return (
        <div className={'field field-toggle' + (invalid ? ' has-problem' : '')}>
          <label htmlFor={id} className="inline">
            <input type="checkbox" role="switch" {...common} checked={toggleShown(f, value)} onChange={(e) => onChange(toggleValue(e.target.checked, value))} />
            {label}
          </label>
          {f.description && (
            <div id={did} className="hint">
              {f.description}
            </div>
          )}
          <Problems id={pid} problems={problems} />
        </div>
      );
    case 'select': {
      const cur = value === undefined || value === null ? '' : String(value);
      const opts = f.options ?? [];
      input = (
        <select {...common} value={cur} onChange={(e) => onChange(e.target.value === '' ? undefined : e.target.value)}>
          <option value="">{f.default !== undefined ? `Default (${String(f.default)})` : '— choose —'}</option>
          {opts.map((o) => (
            <option key={o} value={o}>
              {o}
            </option>
          ))}
          {cur && !opts.includes(cur) && <option value={cur}>{cur} (not a known value)</option>}
        </select>
      );
      break;
    }
    case 'secret':
      input = <ConfigPicker common={common} value={value} configs={configs} secret onChange={onChange} />;
      break;
    case 'code':
    case 'json':
      input = <textarea {...common} className="code" rows={f.widget === 'code' ? 8 : 4} spellCheck={false} placeholder={placeholderOf(f)} value={textShown(f, value)} onChange={(e) => onChange(textValue(f, e.target.value, value))} />;
      break;
    case 'expression':
      input = <textarea {...common} className="code expr" rows={2} spellCheck={false} placeholder={placeholderOf(f)} value={textShown(f, value)} onChange={(e) => onChange(textValue(f, e.target.value, value))} />;
      break;
    case 'integer':
    case 'number':
      input = (
        <input
          {...common}
          inputMode={f.widget === 'integer' ? 'numeric' : 'decimal'}
          placeholder={placeholderOf(f)}
          value={textShown(f, value)}
          onChange={(e) => onChange(textValue(f, e.target.value, value))}
        />
      );
      break;
    default:
      if (f.fromConfigs) {
        input = <FromConfigs common={common} f={f} value={value} configs={configs} onChange={onChange} />;
        break;
      }
      input = <input {...common} className={f.widget === 'regex' || f.widget === 'cron' ? 'code' : ''} spellCheck={false} placeholder={placeholderOf(f)} value={textShown(f, value)} onChange={(e) => onChange(textValue(f, e.target.value, value))} />;
  }
  return (
    <div className={'field' + (invalid ? ' has-problem' : '')}>
      <label htmlFor={id}>{label}</label>
      {input}
      {f.description && (
        <div id={did} className="hint">
          {f.description}
          {f.widget === 'list' && ' (comma-separated)'}
        </div>
      )}
      <Problems id={pid} problems={problems} />
    </div>
  );
}

type Common = Record<string, unknown> & { id: string; disabled: boolean };

/** ConfigPicker chooses an Extension Configuration: a secret is only ever a reference. */
function ConfigPicker({ common, value, configs, secret, onChange }: { common: Common; value: unknown; configs: ConfigView[]; secret?: boolean; onChange: (v: unknown) => void }) {
  const cur = isConfigRef(value) ? value.$config : '';
  const list = secret ? [...configs].sort((a, b) => Number(b.isSecret) - Number(a.isSecret)) : configs;
  return (
    <select {...common} className="config-picker" value={cur} onChange={(e) => onChange(e.target.value ? { $config: e.target.value } : undefined)}>
      <option value="">— choose an Extension Configuration —</option>
      {list.map((c) => (
        <option key={c.name} value={c.name}>
          {c.name}
          {c.isSecret ? ' (secret)' : ''}
        </option>
      ))}
      {cur && !configs.some((c) => c.name === cur) && <option value={cur}>{cur} (missing)</option>}
    </select>
  );
}

function FromConfigs({ common, f, value, configs, onChange }: { common: Common; f: FormField; value: unknown; configs: ConfigView[]; onChange: (v: unknown) => void }) {
  const ref = isConfigRef(value);
  return (
    <div className="from-configs">
      <select
        aria-label={f.label + ': value source'}
        disabled={common.disabled}
        value={ref ? 'config' : 'value'}
        onChange={(e) => onChange(e.target.value === 'config' ? { $config: configs[0]?.name ?? '' } : undefined)}
      >
        <option value="value">Value</option>
        <option value="config">Extension Configuration</option>
      </select>
      {ref ? (
        <ConfigPicker common={common} value={value} configs={configs} onChange={onChange} />
      ) : (
        <input {...common} spellCheck={false} placeholder={placeholderOf(f)} value={textShown(f, value)} onChange={(e) => onChange(textValue(f, e.target.value, value))} />
      )}
    </div>
  );
}

function ExtraInput({ k, value, readOnly, problems, onChange }: { k: string; value: unknown; readOnly: boolean; problems: FieldProblem[]; onChange: (v: unknown) => void }) {
  const id = useId();
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return (
    <div className={'field' + (problems.length ? ' has-problem' : '')}>
      <label htmlFor={id}>
        <code>{k}</code>
      </label>
      <input
        id={id}
        className="code"
        disabled={readOnly}
        value={text}
        onChange={(e) => {
          const t = e.target.value;
          if (t === '') return onChange(undefined);
          if (typeof value === 'string') return onChange(t);
          try {
            onChange(JSON.parse(t));
          } catch {
            onChange(t);
          }
        }}
      />
      <Problems id={id + '-p'} problems={problems} />
    </div>
  );
}
