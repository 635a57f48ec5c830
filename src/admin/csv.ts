// The employee CSV (contract §7, §11): comma-separated, or tab-separated as Excel saves "Unicode
// 文本". Pure parsing and writing; what a line means is decided by the importer.

export interface CsvRecord {
  /** Physical line the record starts on, the header being line 1. */
  line: number;
  fields: string[];
  /** Set when the line could not be read at all (its fields are then empty). */
  problem?: string;
}

/** Characters that make Excel (and LibreOffice) read a cell as a formula (OWASP "CSV injection"). */
const FORMULA_START = /^[=+\-@\t\r]/;
/** What the export prefixes with `'`: formula starts, and `'` itself so that the prefix can be undone. */
const NEEDS_PREFIX = /^[=+\-@\t\r']/;
const PREFIXED = /^'[=+\-@\t\r']/;

const UNTERMINATED_QUOTE = '引号：此行有一个双引号（"）开始的字段没有闭合，此行未导入';

export type Delimiter = ',' | '\t';

/** RFC 4180: quoted fields may hold commas, quotes ("") and line breaks; CRLF or LF; blank lines skipped. */
export function parseCsv(text: string, delimiter: Delimiter = ','): CsvRecord[] {
  return runToEnd(readCsv(text, undefined, delimiter));
}

/**
 * The same parse in slices of about `sliceChars` characters, yielding between them so a caller can
 * let other work run. Linear in the text: see CsvReader for how unterminated quotes are bounded.
 */
export function* readCsv(text: string, sliceChars = 64 * 1024, delimiter: Delimiter = ','): Generator<void, CsvRecord[]> {
  const reader = new CsvReader(text, delimiter.charCodeAt(0));
  while (!reader.step(sliceChars)) yield;
  return reader.records;
}

export function runToEnd<T>(steps: Generator<void, T>): T {
  for (;;) {
    const next = steps.next();
    if (next.done) return next.value;
  }
}

const QUOTE = 0x22;
const LF = 0x0a;
const CR = 0x0d;

/**
 * A resumable RFC 4180 reader. A quote that is still open at the end of the text would otherwise
 * swallow every following line into one field, silently. So the first pass reads the text as
 * RFC 4180; if it ends inside a quoted field, that field's line is reported and the text is read
 * again from the next line in strict mode, where a quoted field must close on the line it opened
 * (multi-line fields cannot be told apart from a missing quote any more). Each character is read
 * at most twice, however many quotes are left open.
 */
class CsvReader {
  readonly records: CsvRecord[] = [];
  private pos = 0;
  private line = 1;
  private strict = false;
  private done = false;
  private recordLine = 1;
  private fields: string[] = [];
  private field = '';
  /** Nothing but whitespace in the field so far: a quote here opens a quoted field. */
  private fieldBlank = true;
  private fieldStarted = false;
  private quoted = false;
  private quoteLine = 0;
  /** Where the line after the open quote's line starts, once the quoted field has crossed a line break. */
  private resumeAt = -1;

  /** `delimiter`: the separator's character code, a comma or a tab. */
  constructor(
    private readonly text: string,
    private readonly delimiter: number,
  ) {}

  /** Reads about `budget` more characters; true once the whole text is read. */
  step(budget: number): boolean {
    const end = Math.min(this.text.length, this.pos + budget);
    while (!this.done && this.pos < end) {
      if (this.quoted) this.readQuoted(end);
      else this.readUnquoted(end);
    }
    if (!this.done && this.pos >= this.text.length) this.finish();
    return this.done;
  }

  private readUnquoted(end: number): void {
    const { text } = this;
    let i = this.pos;
    const delimiter = this.delimiter;
    while (i < end) {
      const c = text.charCodeAt(i);
      if (c === delimiter || isQuotedSpecial(c)) break;
      i++;
    }
    if (i > this.pos) this.append(text.slice(this.pos, i));
    this.pos = i;
    if (i >= end) return;
    const c = text.charCodeAt(i);
    if (c === delimiter) {
      this.fields.push(this.field);
      this.resetField();
      this.fieldStarted = true;
      this.pos = i + 1;
    } else if (c === QUOTE && this.fieldBlank) {
      this.quoted = true;
      this.field = '';
      this.fieldStarted = true;
      this.quoteLine = this.line;
      this.resumeAt = -1;
      this.pos = i + 1;
    } else if (c === QUOTE) {
      this.append('"');
      this.pos = i + 1;
    } else {
      this.pos = afterLineBreak(text, i);
      this.endRecord();
      this.line++;
      this.recordLine = this.line;
    }
  }

  private readQuoted(end: number): void {
    const { text } = this;
    let i = this.pos;
    while (i < end && !isQuotedSpecial(text.charCodeAt(i))) i++;
    if (i > this.pos) this.field += text.slice(this.pos, i);
    this.pos = i;
    if (i >= end) return;
    if (text.charCodeAt(i) === QUOTE) {
      // A doubled quote split across two slices is still seen whole: the text is all in memory.
      if (text.charCodeAt(i + 1) === QUOTE) {
        this.field += '"';
        this.pos = i + 2;
      } else {
        this.quoted = false;
        this.fieldBlank = false;
        this.pos = i + 1;
      }
      return;
    }
    const next = afterLineBreak(text, i);
    if (this.strict) {
      this.reject(this.line);
      this.pos = next;
      this.line++;
      this.recordLine = this.line;
      return;
    }
    if (this.resumeAt < 0) this.resumeAt = next;
    this.field += text.slice(i, next);
    this.pos = next;
    this.line++;
  }

  private finish(): void {
    if (this.quoted && !this.strict && this.resumeAt >= 0) {
      this.reject(this.quoteLine);
      this.strict = true;
      this.pos = this.resumeAt;
      this.line = this.quoteLine + 1;
      this.recordLine = this.line;
      return;
    }
    if (this.quoted) this.reject(this.quoteLine);
    else if (this.field !== '' || this.fields.length > 0 || this.fieldStarted) this.endRecord();
    this.done = true;
  }

  private append(segment: string): void {
    this.field += segment;
    if (this.fieldBlank && segment.trim() !== '') this.fieldBlank = false;
  }

  private endRecord(): void {
    this.fields.push(this.field);
    const blank = this.fields.length === 1 && this.fields[0]!.trim() === '' && !this.fieldStarted;
    if (!blank) this.records.push({ line: this.recordLine, fields: this.fields });
    this.fields = [];
    this.resetField();
  }

  /** Drops the record being read and reports its line instead. */
  private reject(line: number): void {
    this.records.push({ line, fields: [], problem: UNTERMINATED_QUOTE });
    this.fields = [];
    this.resetField();
    this.quoted = false;
  }

  private resetField(): void {
    this.field = '';
    this.fieldBlank = true;
    this.fieldStarted = false;
  }
}

function isQuotedSpecial(c: number): boolean {
  return c === QUOTE || c === LF || c === CR;
}

/** Index after the line break at `i` (CRLF, LF or a lone CR). */
function afterLineBreak(text: string, i: number): number {
  return text.charCodeAt(i) === CR && text.charCodeAt(i + 1) === LF ? i + 2 : i + 1;
}

export function csvLine(values: string[]): string {
  return values.map(csvField).join(',');
}

/** A cell for a file meant for spreadsheets: never starts like a formula (see `unprefixCell`). */
export function safeCell(value: string): string {
  return NEEDS_PREFIX.test(value) ? `'${value}` : value;
}

/** Undoes `safeCell`: one leading `'` is dropped where the export would have added it. */
export function unprefixCell(value: string): string {
  return PREFIXED.test(value) ? value.slice(1) : value;
}

export function startsLikeFormula(value: string): boolean {
  return FORMULA_START.test(value);
}

function csvField(value: string): string {
  return /[",\r\n]|^\s|\s$/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}
