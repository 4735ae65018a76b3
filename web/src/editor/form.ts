// The config form generator: a block's JSON Schema (with the x-* hints the
// server adds from the block spec) becomes a list of form fields, and the
// helpers below convert between config values and what the widgets show.
// Pure: the React side lives in ConfigForm.tsx.
import type { BlockInfo, JSONSchema } from './catalogue';

export type Widget = 'text' | 'code' | 'expression' | 'number' | 'integer' | 'toggle' | 'select' | 'secret' | 'json' | 'list' | 'cron' | 'regex';

export interface FormField {
  key: string;
  label: string;
  description: string;
  widget: Widget;
  required: boolean;
  default?: unknown;
  options?: string[];
  advanced: boolean;
  /** fromConfigs: the value may be an Extension Configuration reference. */
  fromConfigs: boolean;
  expressions: boolean;
  min?: number;
  max?: number;
  example?: string;
}

export interface ConfigRef {
  $config: string;
}

export function isConfigRef(v: unknown): v is ConfigRef {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && typeof (v as ConfigRef).$config === 'string';
}

/** alternatives lists a schema's own shape and its anyOf/oneOf branches. */
function alternatives(s: JSONSchema): JSONSchema[] {
  return [s, ...(s.anyOf ?? []), ...(s.oneOf ?? [])];
}

function widgetOf(p: JSONSchema): Widget {
  const alts = alternatives(p);
  if (p['x-secret']) return 'secret';
  const xt = p['x-type'];
  switch (xt) {
    case 'text':
      return 'code';
    case 'boolean':
      return 'toggle';
    case 'enum':
      return 'select';
    case 'integer':
      return 'integer';
    case 'number':
      return 'number';
    case 'json':
      return 'json';
    case 'list':
      return 'list';
    case 'cron':
      return 'cron';
    case 'regex':
      return 'regex';
    case 'string':
      return p['x-supportsExpressions'] ? 'expression' : 'text';
  }
  // No hint: read the schema itself.
  if (alts.some((a) => a.enum && a.enum.length > 0 && a.enum.every((x) => typeof x === 'string' && x !== 'true' && x !== 'false'))) return 'select';
  const types = alts.flatMap((a) => (Array.isArray(a.type) ? a.type : a.type ? [a.type] : []));
  if (types.includes('boolean')) return 'toggle';
  if (types.includes('integer')) return 'integer';
  if (types.includes('number')) return 'number';
  if (types.includes('object') || types.includes('array')) return 'json';
  return 'text';
}

function bound(p: JSONSchema, k: 'minimum' | 'maximum'): number | undefined {
  for (const a of alternatives(p)) if (typeof a[k] === 'number') return a[k];
  return undefined;
}

function enumOf(p: JSONSchema): string[] | undefined {
  for (const a of alternatives(p)) {
    if (a.enum && a.enum.length && !a.enum.every((x) => x === '' || x === 'null' || x === 'true' || x === 'false')) return a.enum.map(String);
  }
  return undefined;
}

/** formFields lists the fields of a block's config schema, in schema order.
 * Deprecated properties (legacy spellings of a field) are left out: the
 * form writes the canonical key. */
export function formFields(schema: JSONSchema, spec?: BlockInfo): FormField[] {
  const req = new Set(schema.required ?? []);
  const specFields = new Map((spec?.fields ?? []).map((f) => [f.key, f]));
  const out: FormField[] = [];
  for (const [key, p] of Object.entries(schema.properties ?? {})) {
    if (p.deprecated) continue;
    const sf = specFields.get(key);
    const widget = widgetOf(p);
    const f: FormField = {
      key,
      label: p.title ?? sf?.label ?? key,
      description: p.description ?? sf?.description ?? '',
      widget,
      // Required with no default: the user must fill it in.
      required: req.has(key) || (!!sf?.required && sf.default === undefined),
      advanced: !!p['x-advanced'],
      fromConfigs: !!p['x-fromConfigs'],
      expressions: !!p['x-supportsExpressions'],
    };
    if (p.default !== undefined) f.default = p.default;
    const opts = enumOf(p);
    if (widget === 'select' && opts) f.options = opts;
    const min = bound(p, 'minimum');
    const max = bound(p, 'maximum');
    if (min !== undefined) f.min = min;
    if (max !== undefined) f.max = max;
    const ex = p.examples?.[0];
    if (ex !== undefined) f.example = typeof ex === 'string' ? ex : JSON.stringify(ex);
    out.push(f);
  }
  return out;
}

/** aliasKeys maps each deprecated (legacy) property to the field it spells, when the spec says. */
export function aliasKeys(spec?: BlockInfo): Map<string, string> {
  const m = new Map<string, string>();
  for (const f of spec?.fields ?? []) for (const a of f.aliases ?? []) m.set(a, f.key);
  return m;
}

/** extraKeys are config keys the form does not show (legacy spellings, unknown keys). */
export function extraKeys(config: Record<string, unknown>, fields: FormField[]): string[] {
  const known = new Set(fields.map((f) => f.key));
  return Object.keys(config).filter((k) => !known.has(k) && config[k] !== undefined);
}

// ---- value conversion ----

export function boolOf(v: unknown): boolean | undefined {
  if (v === true || v === 'true') return true;
  if (v === false || v === 'false') return false;
  return undefined;
}

/** toggleShown is the state a toggle shows: the value, else the default. */
export function toggleShown(f: FormField, v: unknown): boolean {
  return boolOf(v) ?? boolOf(f.default) ?? false;
}

/** toggleValue is what a toggle writes: the same spelling as the value it replaces
 * (Connect+ documents often hold "true"/"false" strings). */
export function toggleValue(checked: boolean, prev: unknown): boolean | string {
  return typeof prev === 'string' ? String(checked) : checked;
}

/** textShown is what a text-like widget shows for a value. */
export function textShown(f: FormField, v: unknown): string {
  if (v === undefined || v === null) return '';
  if (isConfigRef(v)) return '';
  switch (f.widget) {
    case 'json':
      return typeof v === 'string' ? v : JSON.stringify(v, null, 2);
    case 'list':
      return Array.isArray(v) ? v.join(',') : String(v);
    default:
      return typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v);
  }
}

/** textValue turns widget text into the config value ('' clears the key). */
export function textValue(f: FormField, text: string, prev: unknown): unknown {
  if (text === '') return undefined;
  switch (f.widget) {
    case 'integer':
    case 'number': {
      const n = Number(text);
      // Keep what does not parse: validation reports it on the field.
      if (text.trim() === '' || !Number.isFinite(n) || (f.widget === 'integer' && !Number.isInteger(n))) return text;
      return typeof prev === 'string' ? text : n;
    }
    case 'json': {
      if (typeof prev === 'string') return text;
      try {
        const x: unknown = JSON.parse(text);
        return typeof x === 'object' && x !== null ? x : text;
      } catch {
        return text;
      }
    }
    case 'list':
      return Array.isArray(prev)
        ? text
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean)
        : text;
    default:
      return text;
  }
}

/** placeholderOf shows the default (or an example) in an empty widget. */
export function placeholderOf(f: FormField): string {
  if (f.default !== undefined && f.default !== '') return typeof f.default === 'string' ? f.default : JSON.stringify(f.default);
  return f.example ? 'e.g. ' + f.example : '';
}

/** setField returns config with key set to v (undefined removes it). */
export function setField(config: Record<string, unknown>, key: string, v: unknown): Record<string, unknown> {
  const out = { ...config };
  if (v === undefined) delete out[key];
  else out[key] = v;
  return out;
}

