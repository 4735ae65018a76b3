// The block catalogue (GET /api/v1/blocks), as the palette and forms use it.

export type Kind = 'none' | 'file' | 'records' | 'any';

export interface FieldSpec {
  key: string;
  label: string;
  type: string;
  description?: string;
  required?: boolean;
  default?: string;
  enum?: string[];
  advanced?: boolean;
  secret?: boolean;
  supportsExpressions?: boolean;
  fromConfigs?: boolean;
  min?: number;
  max?: number;
  example?: string;
  aliases?: string[];
}

export interface BlockInfo {
  type: string;
  label: string;
  class: 'source' | 'executor';
  category: string;
  description: string;
  deprecated?: boolean;
  legacyTypes?: string[];
  input: Kind;
  output: Kind;
  fields: FieldSpec[];
  relations?: string[];
  schema: JSONSchema;
  docs: string;
}

export interface JSONSchema {
  type?: string | string[];
  title?: string;
  description?: string;
  properties?: Record<string, JSONSchema>;
  required?: string[];
  enum?: unknown[];
  default?: unknown;
  anyOf?: JSONSchema[];
  oneOf?: JSONSchema[];
  $ref?: string;
  items?: JSONSchema;
  minimum?: number;
  maximum?: number;
  pattern?: string;
  examples?: unknown[];
  deprecated?: boolean;
  additionalProperties?: boolean | JSONSchema;
  $defs?: Record<string, JSONSchema>;
  'x-type'?: string;
  'x-secret'?: boolean;
  'x-advanced'?: boolean;
  'x-fromConfigs'?: boolean;
  'x-supportsExpressions'?: boolean;
}

export type Catalogue = Map<string, BlockInfo>;

/** byType indexes blocks by type and by their legacy type names. */
export function byType(blocks: BlockInfo[]): Catalogue {
  const m: Catalogue = new Map();
  for (const b of blocks) m.set(b.type, b);
  for (const b of blocks) for (const t of b.legacyTypes ?? []) if (!m.has(t)) m.set(t, b);
  return m;
}

export interface PaletteGroup {
  category: string;
  blocks: BlockInfo[];
}

/** paletteGroups groups the non-deprecated blocks matching q by category (catalogue order). */
export function paletteGroups(blocks: BlockInfo[], q: string, showDeprecated = false): PaletteGroup[] {
  // Every word of the query must appear in the label, type, category or description.
  const words = q.toLowerCase().split(/[\s_()]+/).filter(Boolean);
  const groups: PaletteGroup[] = [];
  for (const b of blocks) {
    if (b.deprecated && !showDeprecated) continue;
    const hay = [b.label, b.type, b.type.replace(/_/g, ' '), b.category, b.description].join(' ').toLowerCase();
    if (!words.every((w) => hay.includes(w))) continue;
    let g = groups.find((x) => x.category === b.category);
    if (!g) groups.push((g = { category: b.category, blocks: [] }));
    g.blocks.push(b);
  }
  return groups;
}
