/**
 * Mermaid blocks checked with mermaid's own parser (the `mermaid` package,
 * the one GitHub renders with), in the parsing worker under a minimal DOM
 * (linkedom: mermaid sanitises labels with DOMPurify, which needs one) and a
 * time budget. What it rejects is what GitHub shows as "Unable to render
 * rich display"; the components come from the parsed diagram's own database
 * (flowchart vertices, sequence participants, C4 elements, architecture
 * services).
 *
 * Mermaid drops front matter, `%%` comment lines and leading blank lines
 * before parsing, so those are blanked here first (same line count) and its
 * error lines map back to the notes. Error messages are rewritten in words
 * (`expected ']'` rather than `Expecting 'SQE'`); an unknown diagram type
 * gets a "did you mean".
 */
import { closestMatch } from '@labgrader/core';
import { DEFAULT_PARSE_LIMITS, inWorker } from '../markdown/parse.js';
import { ComponentSet, type DiagramError, type DiagramParse } from './types.js';

/** The diagram types (as written in the header) that can be an architecture diagram. */
export const MERMAID_VALIDATED_TYPES = [
  'flowchart',
  'graph',
  'flowchart-elk',
  'sequenceDiagram',
  'C4Context',
  'C4Container',
  'C4Component',
  'C4Dynamic',
  'C4Deployment',
  'architecture-beta',
] as const;

/** Every header mermaid 11 knows, for "did you mean". */
const KNOWN_TYPES = [
  ...MERMAID_VALIDATED_TYPES,
  'classDiagram',
  'classDiagram-v2',
  'stateDiagram',
  'stateDiagram-v2',
  'erDiagram',
  'gantt',
  'pie',
  'journey',
  'gitGraph',
  'mindmap',
  'timeline',
  'quadrantChart',
  'requirementDiagram',
  'sankey-beta',
  'xychart-beta',
  'block-beta',
  'packet-beta',
  'kanban',
  'radar-beta',
  'treemap-beta',
  'zenuml',
  'info',
];

/** Longer blocks are not parsed (an architecture diagram is a few dozen lines). */
const MAX_SOURCE = 50_000;

interface WorkerResult {
  ok: boolean;
  type?: string;
  components?: { id: string; label: string }[];
  name?: string;
  message?: string;
  hash?: { line?: number; firstLine?: number; token?: string; expected?: string[] };
}

/** Front matter, `%%` comments and directives blanked, keeping every line. */
export function prepareSource(source: string): {
  text: string;
  errors: DiagramError[];
  header?: { keyword: string; line: number };
} {
  const errors: DiagramError[] = [];
  const lines = source.replace(/\r\n?/g, '\n').split('\n');
  let first = lines.findIndex((l) => l.trim() !== '');
  if (first >= 0 && lines[first]!.trim() === '---') {
    const close = lines.findIndex((l, i) => i > first && l.trim() === '---');
    if (close < 0) {
      errors.push({ line: first + 1, message: "the front matter opened with '---' is never closed" });
      return { text: '', errors };
    }
    for (let i = first; i <= close; i++) lines[i] = '';
  }
  let inDirective = false;
  for (let i = 0; i < lines.length; i++) {
    const trimmed = lines[i]!.trim();
    if (inDirective) {
      if (trimmed.includes('}%%')) inDirective = false;
      lines[i] = '';
    } else if (trimmed.startsWith('%%{')) {
      inDirective = !trimmed.includes('}%%');
      lines[i] = '';
    } else if (trimmed.startsWith('%%')) {
      lines[i] = '';
    }
  }
  if (inDirective)
    errors.push({ line: lines.length, message: "a directive opened with '%%{' is never closed with '}%%'" });
  first = lines.findIndex((l) => l.trim() !== '');
  const keyword = first >= 0 ? /^\s*([A-Za-z][\w-]*)/.exec(lines[first]!)?.[1] : undefined;
  const out: ReturnType<typeof prepareSource> = { text: lines.join('\n'), errors };
  if (keyword !== undefined) out.header = { keyword, line: first + 1 };
  return out;
}

const TOKEN_WORDS: Record<string, string> = {
  SQS: "'['",
  SQE: "']'",
  PS: "'('",
  DIAMOND_START: "'{'",
  STADIUMSTART: "'(['",
  SUBROUTINESTART: "'[['",
  CYLINDERSTART: "'[('",
  DOUBLECIRCLESTART: "'((('",
  TRAPSTART: "'[/'",
  INVTRAPSTART: "'[\\'",
  LINK: 'an arrow',
  ARROW_POINT: 'an arrow',
  PE: "')'",
  STADIUMEND: "'])'",
  SUBROUTINEEND: "']]'",
  CYLINDEREND: "')]'",
  DOUBLECIRCLEEND: "')))'",
  DIAMOND_STOP: "'}'",
  TAGEND: "'>'",
  PIPE: "'|'",
  NEWLINE: 'a line break',
  SEMI: "';'",
  EOF: 'the end of the diagram',
  '1': 'the end of the diagram',
  ACTOR: 'a participant',
  NODE_STRING: 'a node name',
  STR: 'a quoted text',
  TXT: 'a message text',
  COLON: "':'",
  LBRACE: "'{'",
  RBRACE: "'}'",
  AMP: "'&'",
  end: "'end'",
  subgraph: "'subgraph'",
};

function words(token: string): string | undefined {
  const bare = token.replace(/^'|'$/g, '');
  return TOKEN_WORDS[bare];
}

/** A parse error from the worker in words, at its line in the block. */
function describeError(
  result: WorkerResult,
  leading: number,
  lineCount: number,
  header?: { keyword: string; line: number },
): DiagramError {
  const message = result.message ?? 'mermaid could not parse the diagram';
  if (result.name === 'UnknownDiagramError' || /No diagram type detected/.test(message)) {
    const keyword = header?.keyword ?? '';
    const suggestion =
      closestMatch(keyword, KNOWN_TYPES, { maxDistance: 2 }) ?? KNOWN_TYPES.find((t) => t.startsWith(`${keyword}-`));
    return {
      line: header?.line ?? 1,
      message:
        suggestion && suggestion !== keyword
          ? `'${keyword}' is not a Mermaid diagram type (did you mean '${suggestion}'?)`
          : `'${keyword}' is not a Mermaid diagram type`,
    };
  }
  const hash = result.hash;
  let line: number | undefined;
  if (hash?.firstLine !== undefined) line = hash.firstLine;
  else if (hash?.line !== undefined) line = hash.line + 1;
  else {
    const m = /\bline (\d+)/.exec(message);
    if (m) line = Number(m[1]);
  }
  const inBlock = Math.min(Math.max(1, (line ?? 1) + leading), lineCount);
  if (hash?.expected) {
    const expected = [...new Set(hash.expected.map(words).filter((w): w is string => w !== undefined))].slice(0, 4);
    const got = /got '([^']*)'\s*$/.exec(message)?.[1] ?? hash.token;
    const found = got === undefined ? undefined : (words(got) ?? `'${got}'`);
    const near = /\n([^\n]*)\n-*\^/
      .exec(message)?.[1]
      ?.replace(/^\.\.\./, '…')
      .trim();
    const what = expected.length > 0 ? `expected ${expected.join(', ')}` : 'unexpected input';
    return {
      line: inBlock,
      message: `${what}${found ? `, found ${found}` : ''}${near ? ` after "${near.slice(-40)}"` : ''}`,
    };
  }
  const first = message
    .replace(/^Parsing failed:\s*/, '')
    .split('\n')[0]!
    .trim();
  return { line: inBlock, message: first.slice(0, 200) };
}

/**
 * Parses Mermaid blocks with mermaid itself, in the worker, within one time
 * budget for all of them. Blocks that could not be checked (time-out, worker
 * failure) come back `unchecked` with the reason.
 */
export async function parseMermaidBlocks(
  sources: readonly string[],
  limits: { timeoutMs: number; maxHeapMb?: number },
  signal?: AbortSignal,
): Promise<DiagramParse[]> {
  const prepared = sources.map((s) => prepareSource(s));
  const results: DiagramParse[] = prepared.map((p) => ({
    language: 'mermaid',
    type: p.header?.keyword,
    validated: false,
    components: [],
    errors: [...p.errors],
  }));
  const toParse = prepared
    .map((p, i) => ({ p, i }))
    .filter(({ p, i }) => {
      if (p.errors.length > 0) return false;
      if (!p.header) {
        results[i]!.errors.push({ line: 1, message: 'the diagram is empty' });
        return false;
      }
      if (sources[i]!.length > MAX_SOURCE) {
        results[i]!.errors.push({ line: 1, message: `the block is longer than ${MAX_SOURCE} characters` });
        return false;
      }
      return true;
    });
  if (toParse.length === 0) return results;
  const reply = await inWorker<WorkerResult[]>(
    { type: 'mermaid', sources: toParse.map(({ p }) => p.text) },
    { timeoutMs: limits.timeoutMs, maxHeapMb: limits.maxHeapMb ?? DEFAULT_PARSE_LIMITS.maxHeapMb },
    signal,
  );
  if (reply === 'timeout' || !reply.ok) {
    const why =
      reply === 'timeout'
        ? `mermaid did not finish checking the diagrams within ${limits.timeoutMs} ms`
        : `mermaid could not be run (${reply.error})`;
    for (const { i } of toParse) results[i]!.unchecked = why;
    return results;
  }
  toParse.forEach(({ p, i }, k) => {
    const result = reply.value[k]!;
    const target = results[i]!;
    if (!result.ok) {
      const leading = p.text.split('\n').findIndex((l) => l.trim() !== '');
      target.errors.push(describeError(result, Math.max(0, leading), p.text.split('\n').length, p.header));
      return;
    }
    target.validated = true;
    const set = new ComponentSet();
    for (const c of result.components ?? [])
      set.add(
        c.id,
        c.label
          .replace(/<[^>]*>/g, ' ')
          .replace(/\s+/g, ' ')
          .trim(),
        1,
      );
    target.components = set.list();
  });
  return results;
}
