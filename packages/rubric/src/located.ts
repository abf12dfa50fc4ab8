/**
 * Line-aware YAML for configuration files (rubrics, course files): parse with
 * positions, turn zod issues into readable messages with a "did you mean"
 * for unknown keys, and point each problem at its key or value as
 * `file:line:column: path: message`.
 */
import { LineCounter, isMap, isNode, isPair, isScalar, parseDocument, type Document, type Node } from 'yaml';
import type { z } from 'zod';
import { closest } from './suggest.js';

/** A path into the YAML document, as zod reports it. */
export type PathSegment = string | number;

/** A problem at a path; `key` points at a map key rather than the value (unknown keys). */
export interface Located {
  path: PathSegment[];
  message: string;
  /** Point at the key rather than the value (unknown keys). */
  key?: string;
}

export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const seg of path) out += typeof seg === 'number' ? `[${seg}]` : out ? `.${seg}` : seg;
  return out || '(top level)';
}

/** Known object keys at a schema position, for "did you mean" (zod v4 internals, read-only). */
function knownKeys(schema: z.ZodType, path: readonly PathSegment[]): string[] {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  let current: any = schema;
  const unwrap = () => {
    while (current?._zod?.def && ['optional', 'default', 'nullable', 'pipe'].includes(current._zod.def.type)) {
      current = current._zod.def.innerType ?? current._zod.def.in;
    }
  };
  const objectOf = (s: unknown): unknown => {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const def = (s as any)?._zod?.def;
    if (def?.type === 'union')
      return def.options.find((o: { _zod: { def: { type: string } } }) => o._zod.def.type === 'object');
    return s;
  };
  for (const seg of path) {
    unwrap();
    current = objectOf(current);
    unwrap();
    const def = current?._zod?.def;
    if (!def) return [];
    if (def.type === 'array' && typeof seg === 'number') current = def.element;
    else if (def.type === 'object' && typeof seg === 'string') current = def.shape[seg];
    else if (def.type === 'record') current = def.valueType;
    else return [];
  }
  unwrap();
  current = objectOf(current);
  unwrap();
  return current?._zod?.def?.type === 'object' ? Object.keys(current._zod.def.shape) : [];
}

/** Turns zod issues into located messages, expanding unions into something readable. */
export function explainIssues(
  issues: readonly z.core.$ZodIssue[],
  base: PathSegment[],
  schema: z.ZodType | undefined,
): Located[] {
  const out: Located[] = [];
  for (const issue of issues) {
    const path = [...base, ...(issue.path as PathSegment[])];
    if (issue.code === 'unrecognized_keys') {
      const known = schema ? knownKeys(schema, issue.path as PathSegment[]) : [];
      for (const key of issue.keys) {
        const guess = closest(key, known);
        const hint = guess ? `; did you mean '${guess}'?` : known.length ? ` (allowed: ${known.join(', ')})` : '';
        out.push({ path, key, message: `unknown field '${key}'${hint}` });
      }
    } else if (issue.code === 'invalid_union') {
      const branches = issue.errors;
      const literals = branches.flatMap((b) =>
        b.filter((i) => i.code === 'invalid_value').flatMap((i) => (i.code === 'invalid_value' ? i.values : [])),
      );
      const typed = branches.filter((b) => !b.some((i) => i.code === 'invalid_type' && i.path.length === 0));
      if (typed.length === 1) {
        out.push(...explainIssues(typed[0]!, path, undefined));
      } else if (literals.length > 0) {
        const allowed = literals.map((v) => `'${String(v)}'`).join(', ');
        const objectBranch = branches.some((b) => b.some((i) => i.code === 'invalid_type' && i.expected === 'object'));
        out.push({ path, message: `expected one of ${allowed}${objectBranch ? ' or an object' : ''}` });
      } else {
        out.push({ path, message: issue.message });
      }
    } else if (issue.code === 'invalid_value') {
      out.push({ path, message: `expected ${issue.values.map((v) => `'${String(v)}'`).join(' or ')}` });
    } else if (issue.code === 'invalid_type' && / received undefined$/.test(issue.message) && path.length > 0) {
      out.push({ path: path.slice(0, -1), message: `missing required field '${String(path[path.length - 1])}'` });
    } else {
      out.push({ path, message: issue.message.replace(/^Invalid input: /, '') });
    }
  }
  return out;
}

export function nodeAt(doc: Document, path: readonly PathSegment[], key?: string): Node | undefined {
  if (key !== undefined) {
    const parent = doc.getIn(path, true);
    if (isMap(parent)) {
      const pair = parent.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === key);
      if (pair && isNode(pair.key)) return pair.key;
    }
  }
  // Walk down as far as the document goes; report the deepest existing node.
  for (let i = path.length; i >= 0; i--) {
    const node: unknown = i === 0 ? doc.contents : doc.getIn(path.slice(0, i), true);
    if (isNode(node)) return node;
  }
  return undefined;
}

export interface PositionedYaml {
  doc: Document;
  /** YAML syntax errors as `file:line:column: YAML syntax: message`; the document is unusable when any. */
  syntaxProblems: string[];
  /** `file:line:column: path: message` for each problem, at its key or value (or the deepest node that exists). */
  locate(items: readonly Located[]): string[];
}

/** Parses YAML keeping positions (duplicate keys are syntax errors); `source` is what messages call the file. */
export function parseYamlWithPositions(text: string, source: string): PositionedYaml {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  const where = (node: Node | undefined) => {
    const offset = node?.range?.[0] ?? 0;
    const { line, col } = lineCounter.linePos(offset);
    return `${source}:${line}:${col}`;
  };
  return {
    doc,
    syntaxProblems: doc.errors.map((e) => {
      const { line, col } = lineCounter.linePos(e.pos[0]);
      return `${source}:${line}:${col}: YAML syntax: ${e.message.split('\n')[0]}`;
    }),
    locate: (items) => items.map((l) => `${where(nodeAt(doc, l.path, l.key))}: ${formatPath(l.path)}: ${l.message}`),
  };
}
