/**
 * The parsed notes: the mdast tree plus what the checks keep asking for
 * (root-level headings, the document title, sections, prose text with
 * positions, word counts). Traversals here are iterative: the tree's depth
 * was bounded by the parser, but nothing relies on it.
 */
import type { Definition, Heading, Nodes, Root, RootContent } from 'mdast';
import type { SourceLocation } from '@labgrader/core';
import { foldHeading } from '../language/vocabulary.js';

export interface HeadingInfo {
  /** Index of the heading in `root.children`. */
  index: number;
  depth: number;
  /** The heading's plain text as written. */
  text: string;
  /** Folded: lower case, accents removed, leading numbering removed, punctuation and symbols turned into single spaces. */
  normalized: string;
  node: Heading;
  line: number;
  column: number;
}

export interface TextSegment {
  value: string;
  line: number;
  column: number;
  /** The node type the text came from (`text`, `inlineCode`, `html`). */
  kind: string;
}

export interface NotesDocument {
  /** Repository-relative path of the notes. */
  path: string;
  /** Directory of the notes ('' for the root): relative links resolve from here. */
  dir: string;
  text: string;
  tree: Root;
  headings: HeadingInfo[];
  /** The single leading level-1 heading, when the document has one: its title; its section is only the text up to the next heading. */
  title?: HeadingInfo;
  /** Link/image reference definitions by normalised identifier. */
  definitions: Map<string, Definition>;
  /** Words of prose in the whole document (code and HTML excluded). */
  words: number;
  /** Root-level headings by their index in `root.children`. */
  headingAt: ReadonlyMap<number, HeadingInfo>;
  /** For each heading (by position in `headings`), the index where its section ends. */
  sectionEnds: readonly number[];
}

type AnyNode = Nodes;

/** Children of a node, or none. */
export function childrenOf(node: AnyNode): readonly AnyNode[] {
  return 'children' in node ? (node.children as AnyNode[]) : [];
}

/** Depth-first, document order, without recursion. `skip` prunes a subtree. */
export function walk(
  roots: readonly AnyNode[],
  visit: (node: AnyNode) => void,
  skip?: (node: AnyNode) => boolean,
): void {
  const stack: AnyNode[] = [...roots].reverse();
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (skip?.(node)) continue;
    visit(node);
    const children = childrenOf(node);
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]!);
  }
}

/** Plain text of a node (text, inline code; image alt text excluded). */
export function plainText(node: AnyNode): string {
  let out = '';
  walk([node], (n) => {
    if (n.type === 'text' || n.type === 'inlineCode') out += n.value;
    else if (n.type === 'break') out += ' ';
  });
  return out;
}

export function normalizeHeading(text: string): string {
  return foldHeading(text);
}

export function locationOf(file: string, node: { position?: AnyNode['position'] } | undefined): SourceLocation {
  const start = node?.position?.start;
  const end = node?.position?.end;
  const loc: SourceLocation = { file, line: start?.line ?? 1, column: start?.column ?? 1 };
  if (end) {
    loc.endLine = end.line;
    loc.endColumn = end.column;
  }
  return loc;
}

/** Words: runs of letters/digits (with inner apostrophes, hyphens, dots). */
const WORD = /[\p{L}\p{N}](?:[\p{L}\p{N}\p{M}_]|['’.-](?=[\p{L}\p{N}]))*/gu;

/** Line and column of `index` inside a node value that starts at (line, column). */
export function positionWithin(
  value: string,
  index: number,
  line: number,
  column: number,
): { line: number; column: number } {
  let l = line;
  let c = column;
  for (let i = 0; i < index; i++) {
    if (value.charCodeAt(i) === 10) {
      l++;
      c = 1;
    } else c++;
  }
  return { line: l, column: c };
}

export function countWords(text: string): number {
  return text.match(WORD)?.length ?? 0;
}

const NOT_PROSE = new Set(['code', 'html', 'definition', 'image', 'imageReference', 'yaml', 'toml']);

/** Prose text segments of some nodes, with the position each starts at. */
export function proseSegments(nodes: readonly AnyNode[], options: { includeHtml?: boolean } = {}): TextSegment[] {
  const out: TextSegment[] = [];
  walk(
    nodes,
    (n) => {
      if (n.type === 'text' || n.type === 'inlineCode' || (options.includeHtml && n.type === 'html')) {
        out.push({
          value: n.value,
          line: n.position?.start.line ?? 1,
          column: n.position?.start.column ?? 1,
          kind: n.type,
        });
      }
    },
    (n) => NOT_PROSE.has(n.type) && !(options.includeHtml && n.type === 'html'),
  );
  return out;
}

export function buildDocument(path: string, text: string, tree: Root): NotesDocument {
  const headings: HeadingInfo[] = [];
  tree.children.forEach((node, index) => {
    if (node.type !== 'heading') return;
    const headingText = plainText(node).replace(/\s+/g, ' ').trim();
    headings.push({
      index,
      depth: node.depth,
      text: headingText,
      normalized: normalizeHeading(headingText),
      node,
      line: node.position?.start.line ?? 1,
      column: node.position?.start.column ?? 1,
    });
  });
  const h1 = headings.filter((h) => h.depth === 1);
  const title = h1.length === 1 && headings[0] === h1[0] && headings.length > 1 ? h1[0] : undefined;
  const definitions = new Map<string, Definition>();
  walk(tree.children, (n) => {
    if (n.type === 'definition' && !definitions.has(n.identifier.toLowerCase()))
      definitions.set(n.identifier.toLowerCase(), n);
  });
  const words = proseSegments(tree.children).reduce((sum, s) => sum + countWords(s.value), 0);
  const slash = path.lastIndexOf('/');
  // Section ends in one pass: a stack of headings still open.
  const sectionEnds: number[] = headings.map(() => tree.children.length);
  const open: number[] = [];
  headings.forEach((h, i) => {
    while (open.length > 0 && headings[open[open.length - 1]!]!.depth >= h.depth) sectionEnds[open.pop()!] = h.index;
    open.push(i);
  });
  // The title's own section is the paragraph under it: the sections below are the document's.
  if (title) sectionEnds[0] = headings[1]!.index;
  const doc: NotesDocument = {
    path,
    dir: slash < 0 ? '' : path.slice(0, slash),
    text,
    tree,
    headings,
    definitions,
    words,
    headingAt: new Map(headings.map((h) => [h.index, h])),
    sectionEnds,
  };
  if (title) doc.title = title;
  return doc;
}

/** Index in `root.children` where the section of `heading` ends (exclusive). */
export function sectionEnd(doc: NotesDocument, heading: HeadingInfo): number {
  const position = doc.headings.indexOf(heading);
  return position < 0 ? doc.tree.children.length : doc.sectionEnds[position]!;
}

/** The body of a section: the root children after its heading, up to the next heading of the same or a higher level. */
export function sectionBody(
  doc: NotesDocument,
  heading: HeadingInfo,
  excludeSubsections: ReadonlySet<number> = new Set(),
): RootContent[] {
  const end = sectionEnd(doc, heading);
  const out: RootContent[] = [];
  for (let i = heading.index + 1; i < end; i++) {
    const sub = doc.headingAt.get(i);
    if (sub && excludeSubsections.has(i)) {
      i = sectionEnd(doc, sub) - 1;
      continue;
    }
    const node = doc.tree.children[i]!;
    if (node.type !== 'heading') out.push(node);
  }
  return out;
}

/** Headings nested inside a section. */
export function subheadings(doc: NotesDocument, heading: HeadingInfo): HeadingInfo[] {
  const end = sectionEnd(doc, heading);
  const position = doc.headings.indexOf(heading);
  const out: HeadingInfo[] = [];
  for (let i = position + 1; i < doc.headings.length && doc.headings[i]!.index < end; i++) out.push(doc.headings[i]!);
  return out;
}

/** Compiles rubric patterns: case-insensitive, Unicode regular expressions. */
export function compilePatterns(patterns: readonly string[]): RegExp[] {
  return patterns.map((p) => new RegExp(p, 'iu'));
}
