/**
 * Positions for findings without keeping every syntax tree in memory.
 *
 * A 10,000-document corpus would need hundreds of megabytes if every YAML
 * syntax tree were kept. Instead each document remembers its slice of the
 * file text; its tree is cached (LRU) after the first parse and rebuilt from
 * the slice on demand when a finding needs a line and the tree was evicted.
 * Small repositories never evict anything.
 */
import type { Document } from 'yaml';
import type { SourceLocation } from '@labgrader/core';
import { reparseDocument, walkPath, type NodeHit, type Path } from './parse.js';

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

/** Bounded LRU of syntax trees. */
export class AstCache {
  private readonly entries = new Map<DocumentSource, Document.Parsed>();
  constructor(readonly capacity = 512) {}

  get(source: DocumentSource): Document.Parsed | undefined {
    const ast = this.entries.get(source);
    if (ast) {
      this.entries.delete(source);
      this.entries.set(source, ast);
    }
    return ast;
  }

  set(source: DocumentSource, ast: Document.Parsed): void {
    this.entries.delete(source);
    this.entries.set(source, ast);
    while (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next().value as DocumentSource;
      this.entries.delete(oldest);
    }
  }
}

/** One YAML document of a repository file (or of rendered output). */
export class DocumentSource {
  /** Offset of the slice the cached tree's ranges are relative to. */
  private treeBase = 0;

  constructor(
    readonly source: SourceText,
    /** Offsets of the document within the file text. */
    readonly start: number,
    readonly end: number,
    private readonly cache: AstCache,
    initial?: Document.Parsed,
  ) {
    if (initial) cache.set(this, initial);
  }

  get file(): string {
    return this.source.file;
  }

  /** The document's tree: cached, or parsed again from its slice. */
  tree(): Document.Parsed | undefined {
    const cached = this.cache.get(this);
    if (cached) return cached;
    // Reparse from the start of the line so columns stay the same; offsets are shifted by treeBase.
    const lineStart = this.source.text.lastIndexOf('\n', this.start - 1) + 1;
    const ast = reparseDocument(this.source.text.slice(lineStart, this.end));
    if (!ast) return undefined;
    this.treeBase = lineStart;
    this.cache.set(this, ast);
    return ast;
  }

  /** Absolute offset in the file for a range offset of the current tree. */
  private abs(offset: number): number {
    return this.treeBase + offset;
  }

  walk(path: Path, translate?: (depth: number, seq: readonly unknown[]) => number | undefined): NodeHit | undefined {
    const tree = this.tree();
    return tree ? walkPath(tree, path, translate) : undefined;
  }

  /** Location of a hit: the key of its pair (`mode: 'key'`) or the value node. */
  locationOf(hit: NodeHit, mode: 'key' | 'value'): SourceLocation {
    const keyNode = hit.pair?.key as { range?: [number, number, number] } | undefined;
    const target =
      mode === 'key' && keyNode?.range ? keyNode.range : (hit.node as { range?: [number, number, number] }).range;
    if (!target) return this.source.location(this.start);
    return this.source.location(this.abs(target[0]), this.abs(target[1]));
  }

  /** Location of the first occurrence of `needle` inside the hit's value (e.g. one line of a block scalar). */
  locateNeedle(hit: NodeHit, needle: string): SourceLocation | undefined {
    const range = (hit.node as { range?: [number, number, number] }).range;
    if (!range || !needle) return undefined;
    const from = this.abs(range[0]);
    const index = this.source.text.slice(from, this.abs(range[1])).indexOf(needle);
    if (index < 0) return undefined;
    return this.source.location(from + index, from + index + needle.length);
  }

  /** Where the document's content starts (skipping `---`, comments and blank lines). */
  startLocation(): SourceLocation {
    const tree = this.tree();
    const contents = tree?.contents as { range?: [number, number, number] } | null | undefined;
    if (contents?.range) return this.source.location(this.abs(contents.range[0]));
    return this.source.location(this.start);
  }
}
