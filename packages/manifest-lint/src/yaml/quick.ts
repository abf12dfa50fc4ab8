/**
 * The quick path: plain values from js-yaml, positions later and only where
 * a finding needs them.
 *
 * On large inputs most of the lint time went into the `yaml` package's
 * parser, which builds a node for every scalar so it can report positions.
 * js-yaml parses the same documents several times faster but keeps no
 * positions. So ordinary files are split into documents at their `---`
 * lines, each document is read with js-yaml (with the YAML 1.1 scalar rules
 * Kubernetes uses, taken from the `yaml` package's own tag definitions so
 * both paths agree), and a document is parsed again with `yaml` the first
 * time a finding has to be placed in it. Anything unusual (anchors, aliases,
 * tags, merge keys, directives, or any error, duplicate keys included) sends
 * the whole file down the `yaml` path, which reports every problem precisely.
 */
import jsyaml from 'js-yaml';
import { Document as YamlDocument, isScalar } from 'yaml';
import type { ParsedDocument, ParsedFile, ParseLimits } from './parse.js';
import { YAML_OPTIONS } from './parse.js';

interface ScalarTag {
  default?: boolean | 'key';
  test?: RegExp;
  resolve: (value: string, onError: (message: string) => void, options: object) => unknown;
}

let tags: readonly ScalarTag[] | undefined;
/** The implicit scalar tags the `yaml` path uses (YAML 1.1 as Kubernetes reads it), in its order. */
function implicitTags(): readonly ScalarTag[] {
  if (!tags) {
    const doc = new YamlDocument(null, YAML_OPTIONS);
    tags = (doc.schema.tags as unknown as Array<ScalarTag & { collection?: string }>).filter(
      (t) => !t.collection && t.default === true && t.test,
    );
  }
  return tags;
}

class Unusual extends Error {}
const NO_OPTIONS = {};

export function resolvePlain(text: string): unknown {
  for (const tag of implicitTags()) {
    if (!tag.test!.test(text)) continue;
    let failed = false;
    let value = tag.resolve(text, () => (failed = true), NO_OPTIONS);
    // YAML 1.1 booleans resolve to Scalar nodes (to keep their spelling).
    if (isScalar(value)) value = value.value;
    if (failed || (value !== null && typeof value === 'object') || typeof value === 'symbol') throw new Unusual();
    return value;
  }
  return text;
}

const KUBERNETES_SCALARS = new jsyaml.Type('tag:labgrader.dev,2025:kubernetes-scalar', {
  kind: 'scalar',
  resolve: (data: unknown) => typeof data === 'string' && implicitTags().some((t) => t.test!.test(data)),
  construct: (data: string) => resolvePlain(data),
});

/** Strings, lists and mappings, plus YAML 1.1 implicit scalars: no timestamps, no binary, no merge keys. */
const SCHEMA = jsyaml.FAILSAFE_SCHEMA.extend({ implicit: [KUBERNETES_SCALARS] });

/** Anchors, aliases, tags, merge keys and directives need the `yaml` path (it bounds alias expansion). */
const UNUSUAL = /(?:^|[\s[\]{},:-])[&*!]|<<\s*:|^%/m;
const DOCUMENT_START = /^---(?=[ \t]*(?:#.*)?$)/;
const DOCUMENT_END = /^\.\.\.(?=[ \t]*(?:#.*)?$)/;

interface Slice {
  start: number;
  /** Offset of the first line after the `---` marker. */
  bodyStart: number;
  end: number;
}

function splitDocuments(text: string): Slice[] | undefined {
  const slices: Slice[] = [];
  let current: Slice = { start: 0, bodyStart: 0, end: text.length };
  let lineStart = 0;
  while (lineStart < text.length) {
    const newline = text.indexOf('\n', lineStart);
    const lineEnd = newline < 0 ? text.length : newline;
    const line = text.slice(lineStart, lineEnd);
    const next = newline < 0 ? text.length : newline + 1;
    if (line.startsWith('---')) {
      if (!DOCUMENT_START.test(line)) return undefined; // content on the marker line: leave it to the yaml path
      current.end = lineStart;
      slices.push(current);
      current = { start: lineStart, bodyStart: next, end: text.length };
    } else if (line.startsWith('...')) {
      if (!DOCUMENT_END.test(line)) return undefined;
      current.end = lineStart;
      slices.push(current);
      current = { start: next, bodyStart: next, end: text.length };
    }
    lineStart = next;
  }
  slices.push(current);
  return slices;
}

/** Offset of the first line with content (not blank, not only a comment), or -1. */
function contentStart(text: string, from: number, to: number): number {
  let lineStart = from;
  while (lineStart < to) {
    const newline = text.indexOf('\n', lineStart);
    const lineEnd = newline < 0 || newline > to ? to : newline;
    const trimmed = text.slice(lineStart, lineEnd).trimStart();
    if (trimmed && !trimmed.startsWith('#')) return lineEnd - trimmed.length;
    lineStart = lineEnd + 1;
  }
  return -1;
}

/** Parses a file on the quick path; undefined when it needs the `yaml` path. */
export function quickParse(text: string, limits: ParseLimits): ParsedFile | undefined {
  if (UNUSUAL.test(text)) return undefined;
  const slices = splitDocuments(text);
  if (!slices) return undefined;
  const documents: ParsedDocument[] = [];
  try {
    for (const slice of slices) {
      const start = contentStart(text, slice.bodyStart, slice.end);
      if (start < 0) continue; // only comments: no document
      if (documents.length >= limits.maxDocuments) return undefined; // the yaml path reports the limit
      const value: unknown = jsyaml.load(text.slice(slice.bodyStart, slice.end), { schema: SCHEMA });
      documents.push({
        index: documents.length,
        start: slice.start,
        end: slice.end,
        value,
        contentStart: start,
        problems: [],
      });
    }
  } catch {
    return undefined; // any error, duplicate keys included: the yaml path reports it precisely
  }
  return { documents, problems: [] };
}
