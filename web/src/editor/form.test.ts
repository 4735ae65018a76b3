import { describe, expect, it } from 'vitest';
import type { BlockInfo } from './catalogue';
import { extraKeys, formFields, isConfigRef, placeholderOf, textShown, textValue, toggleShown, toggleValue, type FormField } from './form';
import fixture from './testdata/blocks.json';

const blocks = fixture.blocks as unknown as BlockInfo[];
const spec = (t: string) => blocks.find((b) => b.type === t)!;
const fields = (t: string) => formFields(spec(t).schema, spec(t));
const field = (t: string, k: string) => fields(t).find((f) => f.key === k)!;

describe('form generator', () => {
  it('lists the canonical fields in schema order and hides legacy spellings', () => {
    const keys = fields('jslt_transform').map((f) => f.key);
    expect(keys).toEqual(['transformation', 'sendEachRecordSeparately', 'queryParameters', 'attributes']);
  });
  it('marks required fields (schema required, or spec required without a default)', () => {
    expect(field('jslt_transform', 'transformation').required).toBe(true);
    expect(field('http_write', 'apiEndPoint').required).toBe(true);
    expect(field('http_write', 'apiMethod').required).toBe(false); // has a default
    expect(field('jslt_transform', 'attributes').required).toBe(false);
  });
  it('turns enums into selects with their options and default', () => {
    const f = field('http_write', 'apiMethod');
    expect(f.widget).toBe('select');
    expect(f.options).toEqual(['POST', 'PUT']);
    expect(f.default).toBe('POST');
  });
  it('turns booleans into toggles showing the default', () => {
    const f = field('http_write', 'parseResponse');
    expect(f.widget).toBe('toggle');
    expect(toggleShown(f, undefined)).toBe(true);
    expect(toggleShown(f, 'false')).toBe(false);
    expect(toggleShown(f, false)).toBe(false);
    // The spelling of the value replaced is kept.
    expect(toggleValue(false, 'true')).toBe('false');
    expect(toggleValue(true, undefined)).toBe(true);
  });
  it('gives JSLT a multi-line code editor and expression fields an expression editor', () => {
    expect(field('jslt_transform', 'transformation').widget).toBe('code');
    expect(field('http_write', 'apiEndPoint').widget).toBe('expression');
    expect(field('http_write', 'apiEndPoint').expressions).toBe(true);
    expect(field('jslt_transform', 'attributes').widget).toBe('json');
  });
  it('makes secret fields an Extension Configuration picker, never a text box', () => {
    const f = field('http_write', 'clientSecret');
    expect(f.widget).toBe('secret');
    const k = field('http_write', 'clientKey');
    expect(k.widget).toBe('text');
    expect(k.fromConfigs).toBe(true);
    expect(isConfigRef({ $config: 'x' })).toBe(true);
    expect(isConfigRef('x')).toBe(false);
    expect(textShown(k, { $config: 'x' })).toBe('');
  });
  it('marks advanced fields and carries bounds and examples', () => {
    expect(field('http_write', 'apiBaseUrl').advanced).toBe(true);
    const g = field('convert_csv_to_json', 'groupSize');
    expect(g.widget).toBe('integer');
    expect(g.min).toBe(1);
    expect(placeholderOf(field('http_write', 'apiEndPoint'))).toBe('e.g. /v2/transactions/bulk');
    expect(placeholderOf(field('http_write', 'apiMethod'))).toBe('POST');
  });
  it('converts widget text to config values', () => {
    const num = { widget: 'integer' } as FormField;
    expect(textValue(num, '12', undefined)).toBe(12);
    expect(textValue(num, '12', '3')).toBe('12'); // a string stays a string
    expect(textValue(num, '1.5', undefined)).toBe('1.5'); // left for validation to report
    expect(textValue(num, '', 4)).toBeUndefined();
    const json = { widget: 'json' } as FormField;
    expect(textValue(json, '{"a":1}', undefined)).toEqual({ a: 1 });
    expect(textValue(json, '{"a":1}', '{}')).toBe('{"a":1}');
    expect(textValue(json, '{bad', undefined)).toBe('{bad');
    expect(textShown(json, { a: 1 })).toBe('{\n  "a": 1\n}');
    const list = { widget: 'list' } as FormField;
    expect(textValue(list, '1, 2', ['x'])).toEqual(['1', '2']);
    expect(textValue(list, '1,2', '3')).toBe('1,2');
    expect(textShown(list, ['a', 'b'])).toBe('a,b');
  });
  it('reports config keys the form does not show', () => {
    expect(extraKeys({ transformation: '.', 'Send each record separately': 'true', junk: 1 }, fields('jslt_transform'))).toEqual(['Send each record separately', 'junk']);
  });
  it('generates a form for every block of the catalogue', () => {
    for (const b of blocks) {
      const fs = formFields(b.schema, b);
      for (const f of fs) {
        expect(f.label, `${b.type}.${f.key}`).not.toBe('');
        if (f.widget === 'select') expect(f.options?.length, `${b.type}.${f.key}`).toBeGreaterThan(0);
      }
    }
  });
});
