import type { Approval } from '../types.js';

// What a template message says (contract §10): WECHAT_TEMPLATE_FIELDS maps the template's keys to
// approval fields or literals, and every value is cut to what its key's type admits, because
// WeChat refuses the whole message (47003) rather than cutting a value itself.
//
// Syntax: `key=field` pairs separated by commas; spaces around keys, `=`, fields and commas are
// ignored. A literal is written in double quotes, may hold commas and `=`, and writes a `"` of its
// own as `""` (as CSV does: the one quoting rule that survives shells, systemd and Docker env
// files alike, where backslashes are eaten or kept depending on the file). Backslash is ordinary.

export const APPROVAL_FIELDS = [
  'employee_no',
  'operator',
  'bill_type',
  'bill_num',
  'approval_date',
  'approval_opinion',
  'project_name',
  'PI',
  'card_num',
  'guid',
] as const;

export type ApprovalFieldName = (typeof APPROVAL_FIELDS)[number];

export type TemplateField = { key: string; source: 'approval'; field: ApprovalFieldName } | { key: string; source: 'literal'; value: string };

/**
 * Characters each key type admits, as WeChat's category templates check them. Types not listed
 * (`time`, `date`, `amount`, `const`, and any WeChat adds later) have a format rule instead of a
 * length, which cutting cannot satisfy: their values go as they are.
 */
export const TYPE_LIMITS: Readonly<Record<string, number>> = Object.freeze({
  thing: 20,
  character_string: 32,
  phrase: 5,
  name: 10,
  number: 32,
  letter: 32,
  symbol: 5,
  car_number: 8,
  phone_number: 17,
});

const KEY = /^[A-Za-z_]+\d+$/;
const ELLIPSIS = '…';

/** The type of `thing12` is `thing`: the key without its trailing digits. */
export function keyType(key: string): string {
  return key.replace(/\d+$/, '').toLowerCase();
}

/** The most characters (code points) a key's value may have; null when its type sets no length. */
export function limitOf(key: string): number | null {
  const type = keyType(key);
  return Object.hasOwn(TYPE_LIMITS, type) ? TYPE_LIMITS[type]! : null;
}

/** `value` cut to `limit` code points, the last being `…`; unchanged when it fits or there is no limit. */
export function shorten(value: string, limit: number | null): string {
  if (limit === null) return value;
  const chars = Array.from(value);
  return chars.length <= limit ? value : chars.slice(0, limit - 1).join('') + ELLIPSIS;
}

/** Throws an Error naming the pair (1-based) and what is wrong with it; the caller names the variable. */
export function parseTemplateFields(raw: string): TemplateField[] {
  if (raw.trim() === '') throw new Error('no key=field pairs (expected e.g. thing1=bill_type,character_string2=bill_num)');
  const fields: TemplateField[] = [];
  const seen = new Map<string, number>();
  splitPairs(raw).forEach((text, i) => {
    const field = parsePair(text, i + 1);
    const earlier = seen.get(field.key);
    if (earlier !== undefined) throw new Error(`${label(i + 1, text)}: key "${field.key}" is already mapped in pair ${earlier}`);
    seen.set(field.key, i + 1);
    fields.push(field);
  });
  return fields;
}

/** Commas inside a literal do not separate pairs; `""` toggles the quote twice and so stays inside. */
function splitPairs(raw: string): string[] {
  const pairs: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] === '"') quoted = !quoted;
    else if (raw[i] === ',' && !quoted) {
      pairs.push(raw.slice(start, i));
      start = i + 1;
    }
  }
  pairs.push(raw.slice(start));
  if (quoted) throw new Error(`${label(pairs.length, pairs.at(-1)!)}: the literal's opening " is never closed (write a " inside a literal as "")`);
  return pairs;
}

function parsePair(text: string, pair: number): TemplateField {
  const where = label(pair, text);
  if (text.trim() === '') throw new Error(`pair ${pair} is empty (two commas in a row, or a comma at the start or end)`);
  const eq = text.indexOf('=');
  if (eq < 0) throw new Error(`${where}: no "=" between the template key and the field`);
  const key = text.slice(0, eq).trim();
  const value = text.slice(eq + 1).trim();
  if (key === '') throw new Error(`${where}: no template key before "="`);
  if (!KEY.test(key)) throw new Error(`${where}: "${key}" is not a template key (letters or _ followed by digits, like thing1 or character_string2)`);
  if (value === '') throw new Error(`${where}: no field after "=" (a field name, or "" for an empty literal)`);
  if (value.startsWith('"')) return { key, source: 'literal', value: literal(value, key, where) };
  return { key, source: 'approval', field: approvalField(value, where) };
}

function literal(quoted: string, key: string, where: string): string {
  if (!quoted.endsWith('"') || quoted.length < 2) throw new Error(`${where}: unexpected text after the literal's closing "`);
  const inner = quoted.slice(1, -1);
  if (!/^(?:[^"]|"")*$/.test(inner)) throw new Error(`${where}: a " inside a literal must be written "" (or text follows the closing ")`);
  const value = inner.replaceAll('""', '"');
  const limit = limitOf(key);
  const length = Array.from(value).length;
  // A constant too long for its key is a mistake to fix once, not to cut on every message.
  if (limit !== null && length > limit) {
    throw new Error(`${where}: the literal has ${length} characters, more than the ${limit} a ${keyType(key)} key allows`);
  }
  return value;
}

function approvalField(name: string, where: string): ApprovalFieldName {
  const known = APPROVAL_FIELDS.find((f) => f === name);
  if (known) return known;
  const otherCase = APPROVAL_FIELDS.find((f) => f.toLowerCase() === name.toLowerCase());
  const hint = otherCase ? ` (did you mean ${otherCase}? field names are case-sensitive)` : '';
  throw new Error(`${where}: unknown field "${name}"${hint}; expected one of ${APPROVAL_FIELDS.join(', ')}, or a literal in double quotes`);
}

function label(pair: number, text: string): string {
  const trimmed = text.trim();
  const shown = Array.from(trimmed).length > 40 ? `${Array.from(trimmed).slice(0, 39).join('')}…` : trimmed;
  return `pair ${pair} (${shown})`;
}

const READERS: Readonly<Record<ApprovalFieldName, (approval: Approval) => string>> = {
  employee_no: (a) => a.employeeNo,
  operator: (a) => a.operator,
  bill_type: (a) => a.billType,
  bill_num: (a) => a.billNum,
  approval_date: (a) => a.approvalDate,
  approval_opinion: (a) => a.approvalOpinion,
  project_name: projectName,
  PI: (a) => a.items[0]?.pi ?? '',
  card_num: (a) => a.items[0]?.cardNum ?? '',
  guid: (a) => a.guid,
};

/** The first item's project; with more items ` 等N项` says the message shows one of N. */
function projectName(approval: Approval): string {
  const count = approval.items.length;
  const first = approval.items[0]?.projectName ?? '';
  return count > 1 ? `${first}${manyItems(count)}`.trim() : first;
}

function manyItems(count: number): string {
  return ` 等${count}项`;
}

/**
 * `project_name` cut to `limit`: a long name is shortened before its ` 等N项`, not through it, so
 * that a cut value still says the approval has N items. When the limit leaves no room for a
 * shortened name beside the suffix, the whole value is cut as any other.
 */
function shortProjectName(approval: Approval, limit: number | null): string {
  const whole = projectName(approval);
  const count = approval.items.length;
  const first = approval.items[0]?.projectName ?? '';
  if (limit === null || count <= 1 || first === '' || Array.from(whole).length <= limit) return shorten(whole, limit);
  const room = limit - Array.from(manyItems(count)).length;
  return room < 2 ? shorten(whole, limit) : shorten(first, room) + manyItems(count);
}

/** The template's `data`: every mapped key with its value, shortened to the key type's limit. */
export function templateData(fields: readonly TemplateField[], approval: Approval): Record<string, { value: string }> {
  const data: Record<string, { value: string }> = {};
  for (const field of fields) {
    const limit = limitOf(field.key);
    const value =
      field.source === 'literal'
        ? shorten(field.value, limit)
        : field.field === 'project_name'
          ? shortProjectName(approval, limit)
          : shorten(READERS[field.field](approval) ?? '', limit);
    data[field.key] = { value };
  }
  return data;
}

/** WECHAT_TEMPLATE_URL with every `{guid}` replaced (URL-encoded); undefined when there is no link. */
export function templateUrl(pattern: string | null, guid: string): string | undefined {
  if (pattern === null || pattern.trim() === '') return undefined;
  return pattern.replaceAll('{guid}', encodeURIComponent(guid));
}
