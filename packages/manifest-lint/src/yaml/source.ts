/**
 * Files and documents as places: turning a path inside a document's value
 * into a line and column, using the offsets recorded at parse time (see
 * positions.ts) and a lazily built line index per file.
 */
import type { SourceLocation } from '@labgrader/core';
import { CST, Parser } from 'yaml';
import type { Path } from './parse.js';
import { resolvePlain } from './quick.js';
import { entryPosition, indexContainer } from './positions.js';

/** A file's text with a lazily built line index. */
export class SourceText {
  private lineStarts: number[] | undefined;
  constructor(
    readonly file: string,
    readonly text: string,
  ) {}

  position(offset: number): { line: number; column: number } {
    const starts = (this.lineStarts ??= computeLineStarts(this.text));
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - starts[lo]! + 1 };
  }

  location(start: number, end?: number): SourceLocation {
    const from = this.position(start);
    if (end === undefined || end <= start) return { file: this.file, line: from.line, column: from.column };
    const to = this.position(end);
    return { file: this.file, line: from.line, column: from.column, endLine: to.line, endColumn: to.column };
  }
}

function computeLineStarts(text: string): number[] {
  const starts = [0];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  return starts;
}

/** Where a path ends inside a document. */
export interface NodeHit {
  /** Path segments matched (less than the path's length when only an ancestor exists). */
  depth: number;
  /** The value reached. */
  value: unknown;
  /** Offsets of the entry's key (absent for list items and the document root). */
  key?: [number, number];
  /** Offsets of the value. */
  range?: [number, number];
}

/** A mapping key as the value's object key (plain keys resolved as YAML 1.1, like the value was). */
const IDENTIFIER = /^[A-Za-z_][\w./-]*$/;
const YAML11_WORDS =
  /^(?:[yYnN~]|yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF|null|Null|NULL)$/;

function keyText(token: CST.Token): string | undefined {
  if (token.type === 'scalar') {
    // Almost every key is an identifier that resolves to itself; skip the tag tests for those.
    if (IDENTIFIER.test(token.source) && !YAML11_WORDS.test(token.source)) return token.source;
    return String(resolvePlain(token.source));
  }
  if (token.type === 'single-quoted-scalar' || token.type === 'double-quoted-scalar') {
    return CST.resolveAsScalar(token, false, () => {})?.value;
  }
  return undefined;
}

/** Records the offsets of every entry of `value` from its syntax tree (see positions.ts). */
function recordFromCst(token: CST.Token, value: unknown, buffer: number[], base: number): void {
  if (value === null || typeof value !== 'object') return;
  if (Array.isArray(value)) {
    if (token.type !== 'block-seq' && token.type !== 'flow-collection') return;
    const entries: number[] = [];
    const items = token.items.filter((i) => i.value);
    if (items.length !== value.length) return;
    items.forEach((item) => {
      const range = tokenRange(item.value!, base);
      entries.push(range[0], range[1], range[0], range[1]);
    });
    indexContainer(value, undefined, entries, buffer);
    items.forEach((item, i) => recordFromCst(item.value!, value[i], buffer, base));
    return;
  }
  if (token.type !== 'block-map' && token.type !== 'flow-collection') return;
  const keys: string[] = [];
  const entries: number[] = [];
  const children: Array<[CST.Token, unknown]> = [];
  for (const item of token.items) {
    if (!item.key) continue;
    const key = keyText(item.key);
    if (key === undefined || !Object.prototype.hasOwnProperty.call(value, key)) continue;
    const keyRange = tokenRange(item.key, base);
    const valueRange = item.value ? tokenRange(item.value, base) : keyRange;
    keys.push(key);
    entries.push(keyRange[0], keyRange[1], valueRange[0], valueRange[1]);
    if (item.value) children.push([item.value, (value as Record<string, unknown>)[key]]);
  }
  indexContainer(value, keys, entries, buffer);
  for (const [child, childValue] of children) recordFromCst(child, childValue, buffer, base);
}

/** Absolute offsets of a node (scalars: the value without trailing comments). */
function tokenRange(token: CST.Token, base: number): [number, number] {
  if (token.type === 'scalar' || token.type === 'single-quoted-scalar' || token.type === 'double-quoted-scalar') {
    return [token.offset + base, token.offset + token.source.length + base];
  }
  if (token.type === 'block-scalar') {
    const resolved = CST.resolveAsScalar(token, false, () => {});
    if (resolved) return [resolved.range[0] + base, resolved.range[1] + base];
  }
  return [token.offset + base, token.offset + base];
}

/** Maps a rendered list index to the index of the same item in this document's list. */
export type Translate = (depth: number, list: readonly unknown[]) => number | undefined;

/** One YAML document of a repository file (or of rendered output). */
export class DocumentSource {
  constructor(
    readonly source: SourceText,
    /** Offsets of the document within the file text. */
    readonly start: number,
    readonly end: number,
    /** Offset of the document's content. */
    readonly contentStart: number,
    /** The document's plain value. */
    readonly value: unknown,
    /** Its position buffer (see positions.ts); built on first use for quick-path documents. */
    private positions?: Int32Array,
  ) {}

  get file(): string {
    return this.source.file;
  }

  /**
   * Follows a path; stops at the deepest existing ancestor. Documents from
   * the yaml path carry the offsets recorded at parse time; quick-path
   * documents (no anchors, aliases, tags or merge keys, so their syntax tree
   * maps one to one onto the value) get them the first time a position is
   * needed, from one pass over the concrete syntax tree of their slice.
   */
  walk(path: Path, translate?: Translate): NodeHit {
    if (!this.positions) {
      const lineStart = this.source.text.lastIndexOf('\n', this.start - 1) + 1;
      let root: CST.Token | undefined;
      for (const token of new Parser().parse(this.source.text.slice(lineStart, this.end))) {
        if (token.type === 'document') {
          root = token.value;
          break;
        }
      }
      const buffer: number[] = [];
      if (root) recordFromCst(root, this.value, buffer, lineStart);
      this.positions = Int32Array.from(buffer);
    }
    return this.walkRecorded(this.positions, path, translate);
  }

  private walkRecorded(positions: Int32Array, path: Path, translate?: Translate): NodeHit {
    let hit: NodeHit = { depth: 0, value: this.value, range: [this.contentStart, this.contentStart] };
    let current: unknown = this.value;
    for (let depth = 0; depth < path.length; depth++) {
      const segment = path[depth]!;
      let key: string | number;
      if (Array.isArray(current)) {
        const index = typeof segment === 'number' ? (translate ? translate(depth, current) : segment) : undefined;
        if (index === undefined || index < 0 || index >= current.length) return hit;
        key = index;
      } else if (current !== null && typeof current === 'object') {
        key = String(segment);
        if (!Object.prototype.hasOwnProperty.call(current, key)) return hit;
      } else {
        return hit;
      }
      const next: unknown = (current as Record<string | number, unknown>)[key];
      const position = entryPosition(positions, current, key);
      if (!position) return hit; // e.g. a key brought in by a YAML merge: no place of its own
      hit = { depth: depth + 1, value: next };
      if (position.key && !Array.isArray(current)) hit.key = position.key;
      if (position.value) hit.range = position.value;
      current = next;
    }
    return hit;
  }

  /** Location of a hit: the key of its entry (`mode: 'key'`) or the value. */
  locationOf(hit: NodeHit, mode: 'key' | 'value'): SourceLocation {
    const target = mode === 'key' && hit.key ? hit.key : (hit.range ?? hit.key);
    if (!target) return this.startLocation();
    return this.source.location(target[0], target[1]);
  }

  /** The key location of a mapping's `name` entry, or of its first entry. */
  firstKeyLocation(hit: NodeHit): SourceLocation | undefined {
    const value = hit.value;
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
    const keys = Object.keys(value);
    const key = keys.includes('name') ? 'name' : keys[0];
    if (key === undefined) return undefined;
    if (!this.positions) this.walk([]);
    const position = entryPosition(this.positions!, value, key);
    return position?.key ? this.source.location(position.key[0], position.key[1]) : undefined;
  }

  /** Location of the first occurrence of `needle` inside the hit's value (e.g. one line of a block scalar). */
  locateNeedle(hit: NodeHit, needle: string): SourceLocation | undefined {
    if (!hit.range || !needle) return undefined;
    const [from, to] = hit.range;
    const index = this.source.text.slice(from, to).indexOf(needle);
    if (index < 0) return undefined;
    return this.source.location(from + index, from + index + needle.length);
  }

  /** Where the document's content starts (after `---`, comments and blank lines). */
  startLocation(): SourceLocation {
    return this.source.location(this.contentStart);
  }
}
