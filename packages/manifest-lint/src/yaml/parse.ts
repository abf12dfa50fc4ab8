/**
 * YAML parsing with positions, tuned to how Kubernetes reads manifests and
 * hardened against hostile input.
 *
 * Kubernetes decodes YAML with a YAML 1.1 reader (`yes`/`on` are booleans,
 * `0644` is octal) that keeps timestamps as strings and has no base-60
 * numbers; we parse the same way so a value the API server would reject as
 * the wrong type is reported as such. Duplicate keys are errors (kubectl's
 * strict field validation rejects them). Alias expansion is capped so a
 * "billion laughs" document costs nothing, and nesting depth is checked
 * before the recursive composer runs.
 */
import { Composer, Parser, type Document } from 'yaml';
import { AliasBombError, toPlain } from './positions.js';
import { quickParse } from './quick.js';
import type { Tags } from 'yaml';

export type PathSegment = string | number;
export type Path = readonly PathSegment[];

/** YAML 1.1 as Kubernetes' decoder reads it: no timestamps, no sexagesimal numbers. */
export function kubernetesTags(tags: Tags): Tags {
  return tags.filter((tag) => {
    if (typeof tag === 'string') return tag !== 'timestamp' && tag !== 'intTime' && tag !== 'floatTime';
    const { tag: name, format } = tag as { tag: string; format?: string };
    return (
      name !== 'tag:yaml.org,2002:timestamp' &&
      !((name === 'tag:yaml.org,2002:int' || name === 'tag:yaml.org,2002:float') && format === 'TIME')
    );
  });
}

const EMPTY_POSITIONS = new Int32Array(0);

export const YAML_OPTIONS = {
  version: '1.1' as const,
  customTags: kubernetesTags,
  uniqueKeys: true,
  prettyErrors: false,
  keepSourceTokens: false,
  strict: true,
};

export interface ParseLimits {
  /** Alias nodes a document may resolve when converted (counts expanded size). */
  maxAliasCount: number;
  /** Deepest collection nesting accepted before parsing. */
  maxDepth: number;
  /** Documents per file. */
  maxDocuments: number;
}

export const DEFAULT_PARSE_LIMITS: ParseLimits = { maxAliasCount: 100, maxDepth: 100, maxDocuments: 5_000 };

export interface YamlProblem {
  code: string;
  message: string;
  /** Offsets in the file text. */
  start: number;
  end: number;
  /** 'error' stops the document from being linted; 'warning' does not. */
  level: 'error' | 'warning';
}

export interface ParsedDocument {
  /** 0-based index of the document in its file. */
  index: number;
  /** Offsets of the document (directives and `---` included) in the file text. */
  start: number;
  end: number;
  /** The plain value (undefined when the document could not be converted). */
  value: unknown;
  /** Offset where the document's content starts (after `---` and comments). */
  contentStart: number;
  /** Offsets of every entry of the value (see positions.ts); absent on the quick path (computed on demand). */
  positions?: Int32Array;
  problems: YamlProblem[];
}

export interface ParsedFile {
  documents: ParsedDocument[];
  /** Problems that belong to no document (depth check, too many documents). */
  problems: YamlProblem[];
}

/**
 * Depth of nested collections, estimated in one pass without recursion:
 * block collections nest by indentation (each deeper indent, and each
 * compact `- ` on a line, is a level) and flow collections by brackets. A
 * 10 MB `[[[[...` costs a linear scan, never a stack overflow in the
 * recursive composer. Returns the offset where the limit is exceeded, or -1.
 */
export function findExcessiveNesting(text: string, maxDepth: number): number {
  let flow = 0;
  let quote = 0; // 0, or the code of the quote character we are inside
  const indents: number[] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    // Start of a line: measure indentation and compact sequence dashes.
    let indent = 0;
    let dashes = 0;
    if (quote === 0 && flow === 0) {
      for (;;) {
        const c = text.charCodeAt(i + indent);
        if (c === 32 || c === 9) indent++;
        else if (c === 45 && (text.charCodeAt(i + indent + 1) === 32 || text.charCodeAt(i + indent + 1) === 10)) {
          indent += 1;
          dashes++;
        } else break;
      }
      const first = text.charCodeAt(i + indent);
      if (first !== 10 && first !== 35 && !Number.isNaN(first)) {
        while (indents.length > 0 && indents[indents.length - 1]! >= indent - dashes) indents.pop();
        indents.push(indent - dashes);
        if (indents.length + dashes > maxDepth) return i + indent;
      }
    }
    // Rest of the line: brackets and quotes.
    let j = i + indent;
    for (; j < n; j++) {
      const c = text.charCodeAt(j);
      if (c === 10) break;
      if (quote !== 0) {
        if (c === 92 && quote === 34) j++;
        else if (c === quote) quote = 0;
        continue;
      }
      const prev = j === 0 ? 32 : text.charCodeAt(j - 1);
      const afterSeparator = prev === 32 || prev === 9 || prev === 58 || prev === 44 || prev === 91 || prev === 123;
      if ((c === 39 || c === 34) && (afterSeparator || j === i + indent)) quote = c;
      else if (c === 35 && (prev === 32 || prev === 9)) {
        while (j + 1 < n && text.charCodeAt(j + 1) !== 10) j++;
      } else if (c === 91 || c === 123) {
        flow++;
        if (indents.length + flow > maxDepth) return j;
      } else if ((c === 93 || c === 125) && flow > 0) flow--;
    }
    i = j + 1;
  }
  return -1;
}

function problemFrom(
  error: { code: string; message: string; pos: [number, number] },
  level: 'error' | 'warning',
): YamlProblem {
  // The parser's messages end with " at line X, column Y" and sometimes a code excerpt; we report positions ourselves.
  const message = error.message.replace(/ at line \d+, column \d+:?[\s\S]*$/, '').trim();
  return { code: error.code, message, start: error.pos[0], end: error.pos[1], level };
}

/** Parses every document of a file; never throws on bad input. */
export function parseYamlFile(
  text: string,
  limits: ParseLimits = DEFAULT_PARSE_LIMITS,
  options: { quick?: boolean } = {},
): ParsedFile {
  const problems: YamlProblem[] = [];
  const deep = findExcessiveNesting(text, limits.maxDepth);
  if (deep >= 0) {
    problems.push({
      code: 'TOO_DEEP',
      message: `collections nest more than ${limits.maxDepth} levels deep; no Kubernetes manifest needs that`,
      start: deep,
      end: deep + 1,
      level: 'error',
    });
    return { documents: [], problems };
  }
  const quick = options.quick === false ? undefined : quickParse(text, limits);
  if (quick) return quick;
  const documents: ParsedDocument[] = [];
  try {
    const composer = new Composer(YAML_OPTIONS);
    const parser = new Parser();
    let index = 0;
    for (const doc of composer.compose(parser.parse(text), true)) {
      if (index >= limits.maxDocuments) {
        problems.push({
          code: 'TOO_MANY_DOCUMENTS',
          message: `the file has more than ${limits.maxDocuments} documents; the rest were not read`,
          start: doc.range[0],
          end: doc.range[0] + 1,
          level: 'error',
        });
        break;
      }
      documents.push(
        toParsedDocument(doc as Document.Parsed, index, limits, documents[documents.length - 1]?.end ?? 0),
      );
      index++;
    }
  } catch (err) {
    // The composer is recursive; the depth pre-check makes this unreachable in practice.
    problems.push({
      code: 'PARSER_FAILURE',
      message: `the YAML parser gave up: ${err instanceof Error ? err.message : String(err)}`,
      start: 0,
      end: 1,
      level: 'error',
    });
  }
  return { documents, problems };
}

function toParsedDocument(
  doc: Document.Parsed,
  index: number,
  limits: ParseLimits,
  previousEnd: number,
): ParsedDocument {
  const problems: YamlProblem[] = [];
  for (const error of doc.errors) {
    problems.push(problemFrom(error, error.code === 'DUPLICATE_KEY' ? 'warning' : 'error'));
  }
  for (const warning of doc.warnings) {
    // Unresolved tags and similar: the document still converts.
    problems.push(problemFrom(warning, 'warning'));
  }
  let value: unknown;
  let positions: Int32Array = EMPTY_POSITIONS;
  if (!problems.some((p) => p.level === 'error')) {
    try {
      ({ value, positions } = toPlain(doc, limits.maxAliasCount));
    } catch (err) {
      const aliasBomb = err instanceof AliasBombError;
      problems.push({
        code: aliasBomb ? 'ALIAS_LIMIT' : 'CONVERSION_FAILED',
        message: aliasBomb
          ? `aliases expand to more than ${limits.maxAliasCount} times their size (a "billion laughs" document); write the values out`
          : `the document could not be read: ${err instanceof Error ? err.message : String(err)}`,
        start: doc.range[0],
        end: doc.range[1],
        level: 'error',
      });
      value = undefined;
    }
  }
  const contentStart = (doc.contents as { range?: [number, number, number] } | null)?.range?.[0] ?? doc.range[0];
  // The document starts where the previous one ended, so `---` and directives belong to it.
  return {
    index,
    start: Math.min(previousEnd, doc.range[0]),
    end: doc.range[2],
    value,
    positions,
    contentStart,
    problems,
  };
}
