/**
 * Files and documents as places: turning a path inside a document's value
 * into a line and column, using the offsets recorded at parse time (see
 * positions.ts) and a lazily built line index per file.
 */
import type { SourceLocation } from '@labgrader/core';
import type { Path } from './parse.js';
import { entryPosition } from './positions.js';

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
    /** The document's plain value (positions are recorded against it). */
    readonly value: unknown,
    /** Its position buffer (see positions.ts). */
    private readonly positions: Int32Array,
  ) {}

  get file(): string {
    return this.source.file;
  }

  /** Follows a path; stops at the deepest existing ancestor. */
  walk(path: Path, translate?: Translate): NodeHit {
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
      const position = entryPosition(this.positions, current, key);
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
    const position = entryPosition(this.positions, value, key);
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
