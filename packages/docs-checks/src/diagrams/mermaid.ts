/**
 * A small Mermaid validator for the diagram types an architecture diagram is
 * drawn with. Mermaid itself needs a DOM and Node ≥ 22, and
 * `@mermaid-js/parser` only covers info/packet/pie/architecture/gitGraph/
 * radar/treemap, so the subset below is parsed here. The aim is to catch the
 * mistakes that make GitHub show "Unable to render rich display" instead of
 * the diagram, and to extract the component names; it is not a full grammar.
 *
 * Validated subset:
 *  - Every block: front matter (`---` … `---`) must be closed; `%%{…}%%`
 *    directives must be closed; `%%` comment lines are ignored; the first
 *    statement names a known diagram type (typos get a suggestion).
 *  - `flowchart` / `graph` (and `flowchart-elk`): direction TB/TD/BT/RL/LR;
 *    statements separated by newlines or `;`; nodes `id`, `id[label]` and the
 *    other shapes (`(…)`, `([…])`, `[[…]]`, `[(…)]`, `((…))`, `(((…)))`,
 *    `>…]`, `{…}`, `{{…}}`, `[/…/]`, `[\…\]`, `[/…\]`, `[\…/]`, `@{…}`),
 *    quoted labels (`id["…"]`, may span lines), `:::class`; edges `-->`,
 *    `---`, `-.->`, `==>`, `~~~`, `--o`, `--x`, `<-->` and longer variants,
 *    with `|text|`, `-- text -->`, `== text ==>` or `-. text .->` labels;
 *    `&` groups; `subgraph … end` balance; `direction`, `classDef`, `class`,
 *    `style`, `linkStyle`, `click`, `accTitle`, `accDescr` (not validated
 *    further). Errors: unclosed brackets or quotes, bracket characters in an
 *    unquoted label, arrows without a source or target, text that is neither
 *    a node nor an edge, `end` used as a node name, unbalanced subgraphs.
 *  - `sequenceDiagram`: participant/actor declarations, messages with every
 *    arrow type, notes, activate/deactivate, block keywords (loop, alt/else,
 *    opt, par/and, critical/option, break, rect, box) balanced with `end`.
 *    Errors: a message without a target, `else`/`and`/`option` outside their
 *    block, unbalanced blocks, a line that is none of the above.
 *  - C4 (`C4Context`, `C4Container`, `C4Component`, `C4Dynamic`,
 *    `C4Deployment`): known macros with balanced parentheses and quotes,
 *    boundaries `{ … }` balanced, `Rel*` with at least two arguments.
 *  - `architecture-beta`: `group`, `service`, `junction` declarations and
 *    `a:R --> L:b` edges between declared names.
 * Other Mermaid types (classDiagram, erDiagram, pie…) are recognised, reported
 * as not validated, and contribute no components.
 */
import { ComponentSet, closest, type DiagramError, type DiagramParse } from './types.js';

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

const OTHER_TYPES = [
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
  'sankey',
  'xychart-beta',
  'xychart',
  'block-beta',
  'block',
  'packet-beta',
  'packet',
  'kanban',
  'radar-beta',
  'treemap-beta',
  'zenuml',
  'info',
];

const ALL_TYPES: readonly string[] = [...MERMAID_VALIDATED_TYPES, ...OTHER_TYPES];

/** Longer lines are not diagram statements (and are not parsed, to keep the cost linear). */
const MAX_LINE = 2_000;

/** Thrown inside a statement to abandon it after recording an error. */
class StatementError extends Error {}

/** Maps offsets in a text to 1-based lines. */
class Lines {
  private readonly starts: number[] = [0];
  constructor(text: string) {
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) this.starts.push(i + 1);
  }
  lineOf(offset: number): number {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  }
}

/**
 * Blanks out front matter, directives and comment lines (keeping line
 * numbers) and records errors for unterminated ones.
 */
function preprocess(source: string, errors: DiagramError[]): string[] {
  const lines = source.replace(/\r\n?/g, '\n').split('\n');
  lines.forEach((l, i) => {
    if (l.length > MAX_LINE) {
      errors.push({ line: i + 1, message: `this line is longer than ${MAX_LINE} characters` });
      lines[i] = '';
    }
  });
  let first = lines.findIndex((l) => l.trim() !== '');
  if (first >= 0 && lines[first]!.trim() === '---') {
    const close = lines.findIndex((l, i) => i > first && l.trim() === '---');
    if (close < 0) {
      errors.push({ line: first + 1, message: "the front matter opened with '---' is never closed" });
      return [];
    }
    for (let i = first; i <= close; i++) lines[i] = '';
    first = close + 1;
  }
  // %%{ … }%% directives, possibly over several lines.
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const open = line.indexOf('%%{');
    if (open < 0) continue;
    let end = line.indexOf('}%%', open + 3);
    if (end >= 0) {
      lines[i] = line.slice(0, open) + ' '.repeat(end + 3 - open) + line.slice(end + 3);
      i--; // another directive on the same line
      continue;
    }
    let j = i + 1;
    while (j < lines.length && (end = lines[j]!.indexOf('}%%')) < 0) j++;
    if (j >= lines.length) {
      errors.push({ line: i + 1, message: "the directive opened with '%%{' is never closed with '}%%'" });
      lines[i] = line.slice(0, open);
      continue;
    }
    lines[i] = line.slice(0, open);
    for (let k = i + 1; k < j; k++) lines[k] = '';
    lines[j] = ' '.repeat(end + 3) + lines[j]!.slice(end + 3);
  }
  return lines.map((l) => (l.trimStart().startsWith('%%') ? '' : l));
}

export function parseMermaid(source: string): DiagramParse {
  const errors: DiagramError[] = [];
  const lines = preprocess(source, errors);
  const result = (
    type: string | undefined,
    validated: boolean,
    components: ComponentSet | undefined,
  ): DiagramParse => ({
    language: 'mermaid',
    type,
    validated,
    components: components ? components.list() : [],
    errors: errors.sort((a, b) => a.line - b.line),
  });
  const headerIndex = lines.findIndex((l) => l.trim() !== '');
  if (headerIndex < 0) {
    if (errors.length === 0) errors.push({ line: 1, message: 'the diagram is empty' });
    return result(undefined, false, undefined);
  }
  const header = lines[headerIndex]!;
  const keyword = /^\s*([A-Za-z][\w-]*)/.exec(header)?.[1] ?? header.trim().split(/\s+/)[0]!;
  const known =
    ALL_TYPES.find((t) => t === keyword) ?? ALL_TYPES.find((t) => t.toLowerCase() === keyword.toLowerCase());
  if (!known) {
    const suggestion = closest(keyword, ALL_TYPES) ?? ALL_TYPES.find((t) => t.startsWith(`${keyword}-`));
    errors.push({
      line: headerIndex + 1,
      message: `'${keyword}' is not a Mermaid diagram type${suggestion ? ` (did you mean '${suggestion}'?)` : ''}`,
    });
    return result(keyword, false, undefined);
  }
  if (known !== keyword) {
    errors.push({
      line: headerIndex + 1,
      message: `diagram types are case-sensitive: write '${known}', not '${keyword}'`,
    });
    return result(keyword, false, undefined);
  }
  const components = new ComponentSet();
  const afterKeyword = header.indexOf(keyword) + keyword.length;
  switch (known) {
    case 'flowchart':
    case 'graph':
    case 'flowchart-elk':
      parseFlowchart(lines, headerIndex, afterKeyword, components, errors);
      return result(known, true, components);
    case 'sequenceDiagram':
      parseSequence(lines, headerIndex, afterKeyword, components, errors);
      return result(known, true, components);
    case 'C4Context':
    case 'C4Container':
    case 'C4Component':
    case 'C4Dynamic':
    case 'C4Deployment':
      parseC4(lines.slice(headerIndex + 1), headerIndex + 1, components, errors);
      return result(known, true, components);
    case 'architecture-beta':
      parseArchitecture(lines, headerIndex, components, errors);
      return result(known, true, components);
    default:
      return result(known, false, undefined);
  }
}

// ---------------------------------------------------------------------------
// flowchart / graph

const DIRECTIONS = ['TB', 'TD', 'BT', 'RL', 'LR'];
const IGNORED_FLOWCHART_STATEMENTS = new Set([
  'classDef',
  'class',
  'style',
  'linkStyle',
  'click',
  'accTitle',
  'accDescr',
]);

interface Shape {
  open: string;
  close: readonly string[];
}

// Longest openers first.
const SHAPES: readonly Shape[] = [
  { open: '(((', close: [')))'] },
  { open: '((', close: ['))'] },
  { open: '([', close: ['])'] },
  { open: '[[', close: [']]'] },
  { open: '[(', close: [')]'] },
  { open: '[/', close: ['/]', '\\]'] },
  { open: '[\\', close: ['\\]', '/]'] },
  { open: '{{', close: ['}}'] },
  { open: '[', close: [']'] },
  { open: '(', close: [')'] },
  { open: '{', close: ['}'] },
  { open: '>', close: [']'] },
];

const NODE_ID = /[\p{L}\p{N}_](?:[\p{L}\p{N}_]|[-.](?=[\p{L}\p{N}_]))*/uy;
const ARROW = /([<ox])?(-{2,}|={2,}|-\.+-|~{3,})([>ox])?/y;
const DOTTED_LABEL_OPEN = /-\.(?![-.])/y;
const EDGE_ID = /[\p{L}\p{N}_-]+@(?=[-=.~<ox])/uy;
const BRACKET_CHARS = /[[\](){}"]/;

function parseFlowchart(
  lines: string[],
  headerIndex: number,
  afterKeyword: number,
  components: ComponentSet,
  errors: DiagramError[],
): void {
  // Blank everything before the header keyword's end, keep offsets = lines.
  const copy = lines.map((l, i) => (i < headerIndex ? '' : l));
  copy[headerIndex] = ' '.repeat(afterKeyword) + lines[headerIndex]!.slice(afterKeyword);
  const text = copy.join('\n');
  const map = new Lines(text);
  const lineEnd = (from: number): number => {
    const nl = text.indexOf('\n', from);
    return nl < 0 ? text.length : nl;
  };
  // Header remainder: optional direction, then optional `;` and statements.
  let headerStart = 0;
  for (let i = 0; i < headerIndex; i++) headerStart += copy[i]!.length + 1;
  const headerRest = /^\s*([^\s;]+)?[ \t]*(;?)/.exec(text.slice(headerStart, lineEnd(headerStart)))!;
  if (headerRest[1] !== undefined && !DIRECTIONS.includes(headerRest[1].toUpperCase())) {
    errors.push({
      line: headerIndex + 1,
      message: `'${headerRest[1]}' is not a flowchart direction (use TB, TD, BT, RL or LR)`,
    });
  }
  let pos = headerStart + headerRest[0].length;

  const blocks: number[] = []; // lines of open subgraphs
  const error = (offset: number, message: string): never => {
    errors.push({ line: map.lineOf(offset), message });
    throw new StatementError(message);
  };
  const atStatementEnd = (): boolean => pos >= text.length || text[pos] === '\n' || text[pos] === ';';
  const skipInline = (): void => {
    while (pos < text.length && (text[pos] === ' ' || text[pos] === '\t')) pos++;
  };
  const skipToLineEnd = (): void => {
    pos = lineEnd(pos);
  };
  const matchAt = (re: RegExp): RegExpExecArray | null => {
    re.lastIndex = pos;
    return re.exec(text);
  };

  const readQuoted = (): string => {
    const start = pos;
    const close = text.indexOf('"', pos + 1);
    if (close < 0) error(start, 'a quoted label is never closed with "');
    pos = close + 1;
    return text.slice(start + 1, close);
  };

  const readLabel = (shape: Shape, openAt: number): string => {
    skipInline();
    let label: string;
    if (text[pos] === '"') {
      label = readQuoted();
      skipInline();
      const closer = shape.close.find((c) => text.startsWith(c, pos));
      if (!closer) error(pos, `expected '${shape.close[0]}' after the quoted label "${label}"`);
      pos += closer!.length;
      return label;
    }
    const start = pos;
    for (;;) {
      if (pos >= text.length || text[pos] === '\n') {
        error(openAt, `'${shape.open}' is never closed with '${shape.close[0]}' on the same line`);
      }
      const closer = shape.close.find((c) => text.startsWith(c, pos));
      if (closer) {
        label = text.slice(start, pos);
        pos += closer.length;
        return label.trim();
      }
      const ch = text[pos]!;
      if (BRACKET_CHARS.test(ch)) {
        const sample = text.slice(start, Math.min(lineEnd(start), start + 40)).trim();
        error(
          pos,
          `the label '${sample}' contains '${ch}', which Mermaid reads as syntax: put the label in quotes, e.g. id["${sample.replace(/"/g, "'")}"]`,
        );
      }
      pos++;
    }
  };

  const parseNode = (): void => {
    const m = matchAt(NODE_ID);
    if (!m) {
      const found = text
        .slice(pos, pos + 12)
        .split('\n')[0]!
        .trim();
      error(pos, found ? `expected a node name, found '${found}'` : 'expected a node name');
    }
    const id = m![0];
    const idAt = pos;
    pos += id.length;
    if (id === 'end')
      error(idAt, "'end' is a reserved word in flowcharts: name the node differently (e.g. End or end_node)");
    let label: string | undefined;
    if (text.startsWith('@{', pos)) {
      const close = findBalancedBrace(text, pos + 1);
      if (close < 0) error(pos, "'@{' is never closed with '}'");
      const body = text.slice(pos + 2, close);
      label = /label\s*:\s*"([^"]*)"/.exec(body)?.[1] ?? /label\s*:\s*([^,}]+)/.exec(body)?.[1]?.trim();
      pos = close + 1;
    } else {
      const save = pos;
      skipInline();
      const shape = SHAPES.find((s) => text.startsWith(s.open, pos));
      if (shape) {
        const openAt = pos;
        pos += shape.open.length;
        label = readLabel(shape, openAt);
      } else {
        pos = save;
      }
    }
    if (text.startsWith(':::', pos)) {
      pos += 3;
      const cls = matchAt(/[\w-]+/y);
      if (!cls) error(pos, "expected a class name after ':::'");
      pos += cls![0].length;
    }
    components.add(id, label, map.lineOf(idAt));
  };

  const parseNodeGroup = (): void => {
    parseNode();
    for (;;) {
      const save = pos;
      skipInline();
      if (text[pos] !== '&') {
        pos = save;
        return;
      }
      pos++;
      skipInline();
      if (atStatementEnd()) error(pos, "'&' must be followed by another node");
      parseNode();
    }
  };

  /** Parses an edge at pos if there is one; returns false when there is none. */
  const parseEdge = (): boolean => {
    const edgeAt = pos;
    const idMatch = matchAt(EDGE_ID);
    if (idMatch) pos += idMatch[0].length;
    const m = matchAt(ARROW);
    if (m) {
      const [, startHead, body, rawEndHead] = m;
      // An o/x "head" glued to a name is the name's first letter.
      const after = text[pos + m[0].length];
      const endHead =
        rawEndHead && rawEndHead !== '>' && after !== undefined && /[\p{L}\p{N}_]/u.test(after)
          ? undefined
          : rawEndHead;
      const length = m[0].length - (rawEndHead && !endHead ? 1 : 0);
      pos += length;
      if (!startHead && !endHead && (body === '--' || body === '==')) {
        // `A -- text --> B` / `A == text ==> B`
        const closeRe = body === '--' ? /-{2,}[>ox]?/g : /={2,}[>ox]?/g;
        closeRe.lastIndex = pos;
        const close = closeRe.exec(text);
        if (close && close.index < lineEnd(pos)) {
          pos = close.index + close[0].length;
        } else if (rawEndHead === 'o' || rawEndHead === 'x') {
          // `A--oB`: the o/x was the arrow head after all.
          pos += 1;
        } else {
          error(
            edgeAt,
            `the edge text after '${body}' is never closed: write A ${body} text ${body}> B, or A ${body}> B`,
          );
        }
      }
    } else {
      const dotted = matchAt(DOTTED_LABEL_OPEN);
      if (!dotted) {
        pos = edgeAt;
        return false;
      }
      pos += dotted[0].length;
      const closeRe = /\.+-[>ox]?/g;
      closeRe.lastIndex = pos;
      const close = closeRe.exec(text);
      if (!close || close.index >= lineEnd(pos))
        error(edgeAt, "the edge text after '-.' is never closed: write A -. text .-> B");
      pos = close!.index + close![0].length;
    }
    skipInline();
    if (text[pos] === '|') {
      const close = text.indexOf('|', pos + 1);
      if (close < 0 || close > lineEnd(pos)) error(pos, "the edge label opened with '|' is never closed with '|'");
      pos = close + 1;
    }
    return true;
  };

  const parseChain = (): void => {
    const startAt = pos;
    if (matchAt(ARROW) || matchAt(DOTTED_LABEL_OPEN)) error(startAt, 'this arrow has no node before it');
    parseNodeGroup();
    for (;;) {
      skipInline();
      if (atStatementEnd()) return;
      const arrowAt = pos;
      if (!parseEdge()) {
        const found = text.slice(pos, lineEnd(pos)).trim();
        error(pos, `unexpected '${found.slice(0, 30)}': expected an arrow (-->) or the end of the statement`);
      }
      skipInline();
      if (atStatementEnd()) error(arrowAt, 'this arrow has no node after it');
      parseNodeGroup();
    }
  };

  while (pos < text.length) {
    while (pos < text.length && /[\s;]/.test(text[pos]!)) pos++;
    if (pos >= text.length) break;
    const statementAt = pos;
    try {
      const word = matchAt(/[A-Za-z]+(?=[\s;]|$)/y)?.[0];
      const firstWord = matchAt(/[A-Za-z]+/y)?.[0];
      if (word === 'subgraph') {
        pos += word.length;
        const end = lineEnd(pos);
        const rest = text.slice(pos, end);
        blocks.push(statementAt);
        if (/\[/.test(rest) && !/\]/.test(rest))
          error(statementAt, "the subgraph title's '[' is never closed with ']'");
        if ((rest.match(/"/g)?.length ?? 0) % 2 === 1) error(statementAt, 'the subgraph title has an unclosed quote');
        pos = end;
      } else if (word === 'end') {
        pos += 3;
        skipInline();
        if (!atStatementEnd()) {
          error(
            statementAt,
            "'end' is a reserved word in flowcharts: name the node differently (e.g. End or end_node)",
          );
        }
        if (blocks.length === 0) error(statementAt, "'end' without a matching 'subgraph'");
        blocks.pop();
      } else if (word === 'direction') {
        pos += word.length;
        skipInline();
        const dir = matchAt(/\w+/y)?.[0];
        if (!dir || !DIRECTIONS.includes(dir.toUpperCase())) {
          error(statementAt, `'direction' needs TB, TD, BT, RL or LR`);
        }
        skipToLineEnd();
      } else if (
        firstWord &&
        IGNORED_FLOWCHART_STATEMENTS.has(firstWord) &&
        /[\s:]/.test(text[pos + firstWord.length] ?? '')
      ) {
        if (firstWord === 'accDescr' && /^\s*\{/.test(text.slice(pos + firstWord.length))) {
          const close = text.indexOf('}', pos);
          if (close < 0) error(statementAt, "'accDescr {' is never closed with '}'");
          pos = close + 1;
        } else {
          skipToLineEnd();
        }
      } else {
        parseChain();
      }
    } catch (err) {
      if (!(err instanceof StatementError)) throw err;
      skipToLineEnd();
    }
  }
  for (const open of blocks) {
    errors.push({ line: map.lineOf(open), message: "this 'subgraph' is never closed with 'end'" });
  }
}

/** The `}` closing the `{` at `openAt`, looking at most 2,000 characters ahead. */
function findBalancedBrace(text: string, openAt: number): number {
  let depth = 0;
  let quote = false;
  for (let i = openAt; i < Math.min(text.length, openAt + 2_000); i++) {
    const ch = text[i];
    if (ch === '"') quote = !quote;
    else if (quote) continue;
    else if (ch === '{') depth++;
    else if (ch === '}' && --depth === 0) return i;
  }
  return -1;
}

// ---------------------------------------------------------------------------
// sequenceDiagram

const SEQUENCE_ARROW = /(<<-->>|<<->>|-->>|->>|-->|->|--x|-x|--\)|-\))/;
const SEQUENCE_MESSAGE = new RegExp(`^(.+?)\\s*${SEQUENCE_ARROW.source}\\s*([+-]?)\\s*([^:]*?)\\s*(?::(.*))?$`);
const SEQUENCE_BLOCKS = new Set(['loop', 'alt', 'opt', 'par', 'par_over', 'critical', 'break', 'rect', 'box']);
const SEQUENCE_CONTINUATIONS: Record<string, readonly string[]> = {
  else: ['alt'],
  and: ['par', 'par_over'],
  option: ['critical'],
};
const SEQUENCE_SIMPLE = /^(autonumber|title|accTitle|accDescr|activate|deactivate|destroy|links?|properties|details)\b/;

function parseSequence(
  lines: string[],
  headerIndex: number,
  afterKeyword: number,
  components: ComponentSet,
  errors: DiagramError[],
): void {
  const blocks: { keyword: string; line: number }[] = [];
  const rest = lines[headerIndex]!.slice(afterKeyword).trim();
  if (rest !== '' && rest !== ';') {
    errors.push({ line: headerIndex + 1, message: `unexpected '${rest}' after sequenceDiagram` });
  }
  const participant = (name: string, line: number, label?: string): void => {
    const id = name.replace(/@\{.*\}$/, '').trim();
    if (id) components.add(id, label, line);
  };
  for (let i = headerIndex + 1; i < lines.length; i++) {
    const line = lines[i]!.trim().replace(/;$/, '');
    const n = i + 1;
    if (line === '') continue;
    const keyword = /^[A-Za-z_]+/.exec(line)?.[0] ?? '';
    const decl = /^(?:create\s+)?(participant|actor)\s+(.+?)(?:\s+as\s+(.+))?$/.exec(line);
    if (decl) {
      participant(decl[2]!, n, decl[3]);
    } else if (SEQUENCE_BLOCKS.has(keyword)) {
      blocks.push({ keyword, line: n });
    } else if (keyword in SEQUENCE_CONTINUATIONS) {
      const top = blocks[blocks.length - 1];
      if (!top || !SEQUENCE_CONTINUATIONS[keyword]!.includes(top.keyword)) {
        errors.push({
          line: n,
          message: `'${keyword}' is only allowed inside ${SEQUENCE_CONTINUATIONS[keyword]!.join('/')}`,
        });
      }
    } else if (keyword === 'end' && line === 'end') {
      if (!blocks.pop())
        errors.push({ line: n, message: "'end' without an open loop/alt/opt/par/critical/break/rect/box" });
    } else if (/^note\b/i.test(line)) {
      const note = /^note\s+(?:left of|right of|over)\s+([^:]+?)\s*:/i.exec(line);
      if (!note) {
        errors.push({ line: n, message: "a note is written 'Note right of A: text' (or left of / over A,B)" });
      } else {
        for (const who of note[1]!.split(',')) participant(who, n);
      }
    } else if (SEQUENCE_SIMPLE.test(line)) {
      continue;
    } else {
      const message = SEQUENCE_MESSAGE.exec(line);
      if (!message) {
        errors.push({
          line: n,
          message: `'${line.slice(0, 40)}' is not a message (A->>B: text), a participant or a block keyword`,
        });
        continue;
      }
      const [, from, , , to] = message;
      if (!to) {
        errors.push({ line: n, message: 'this message arrow has no target participant' });
        continue;
      }
      participant(from!, n);
      participant(to, n);
    }
  }
  for (const block of blocks) {
    errors.push({ line: block.line, message: `this '${block.keyword}' is never closed with 'end'` });
  }
}

// ---------------------------------------------------------------------------
// C4 (shared with C4-PlantUML)

const C4_ELEMENTS = new Set(
  [
    'Person',
    'System',
    'SystemDb',
    'SystemQueue',
    'Container',
    'ContainerDb',
    'ContainerQueue',
    'Component',
    'ComponentDb',
    'ComponentQueue',
  ].flatMap((m) => [m, `${m}_Ext`]),
);
const C4_BOUNDARIES = new Set([
  'Boundary',
  'Enterprise_Boundary',
  'System_Boundary',
  'Container_Boundary',
  'Deployment_Node',
  'Deployment_Node_L',
  'Deployment_Node_R',
  'Node',
  'Node_L',
  'Node_R',
]);
const C4_RELATIONS = new Set([
  'Rel',
  'BiRel',
  'Rel_Up',
  'Rel_U',
  'Rel_Down',
  'Rel_D',
  'Rel_Left',
  'Rel_L',
  'Rel_Right',
  'Rel_R',
  'Rel_Back',
  'Rel_Neighbor',
  'RelIndex',
]);
const C4_OTHER = new Set([
  'UpdateElementStyle',
  'UpdateRelStyle',
  'UpdateBoundaryStyle',
  'UpdateLayoutConfig',
  'AddElementTag',
  'AddRelTag',
  'AddBoundaryTag',
  'SHOW_LEGEND',
  'LAYOUT_TOP_DOWN',
  'LAYOUT_LEFT_RIGHT',
  'LAYOUT_WITH_LEGEND',
  'HIDE_STEREOTYPE',
]);
export const C4_MACROS: ReadonlySet<string> = new Set([...C4_ELEMENTS, ...C4_BOUNDARIES, ...C4_RELATIONS, ...C4_OTHER]);

/** Splits `a, "b, c", d` into arguments; undefined when quotes are unbalanced. */
function splitArguments(args: string): string[] | undefined {
  const out: string[] = [];
  let current = '';
  let quote = false;
  for (const ch of args) {
    if (ch === '"') quote = !quote;
    if (ch === ',' && !quote) {
      out.push(current.trim());
      current = '';
    } else current += ch;
  }
  if (quote) return undefined;
  out.push(current.trim());
  return out.map((a) => a.replace(/^"(.*)"$/s, '$1'));
}

/**
 * Parses one C4 macro call line (`Container(api, "API", "Go")`, optionally
 * followed by `{`). Returns false when the line is not a C4 call at all.
 */
export function parseC4Line(
  line: string,
  n: number,
  components: ComponentSet,
  errors: DiagramError[],
  blocks: number[],
): boolean {
  const call = /^\$?([A-Za-z_][\w]*)\s*\(/.exec(line);
  if (!call) return false;
  const macro = call[1]!;
  if (!C4_MACROS.has(macro)) {
    const suggestion = closest(macro, [...C4_MACROS]);
    errors.push({
      line: n,
      message: `'${macro}' is not a C4 macro${suggestion ? ` (did you mean '${suggestion}'?)` : ''}`,
    });
    return true;
  }
  // Find the matching ')' outside quotes.
  let depth = 0;
  let quote = false;
  let close = -1;
  for (let i = call[0].length - 1; i < line.length; i++) {
    const ch = line[i];
    if (ch === '"') quote = !quote;
    else if (quote) continue;
    else if (ch === '(') depth++;
    else if (ch === ')' && --depth === 0) {
      close = i;
      break;
    }
  }
  if (quote) {
    errors.push({ line: n, message: `${macro}(…) has an unclosed quote` });
    return true;
  }
  if (close < 0) {
    errors.push({ line: n, message: `${macro}( is never closed with ')'` });
    return true;
  }
  const args = splitArguments(line.slice(call[0].length, close)) ?? [];
  const tail = line.slice(close + 1).trim();
  if (tail === '{') {
    if (!C4_BOUNDARIES.has(macro))
      errors.push({ line: n, message: `${macro} cannot open a '{' block (only boundaries and nodes can)` });
    blocks.push(n);
  } else if (tail !== '') {
    errors.push({ line: n, message: `unexpected '${tail}' after ${macro}(…)` });
  }
  if (C4_ELEMENTS.has(macro)) {
    if (!args[0]) errors.push({ line: n, message: `${macro}(…) needs an alias as its first argument` });
    else components.add(args[0], args[1], n);
  } else if (C4_RELATIONS.has(macro)) {
    const offset = macro === 'RelIndex' ? 1 : 0;
    if (!args[offset] || !args[offset + 1]) {
      errors.push({ line: n, message: `${macro}(from, to, label) needs at least the two elements it connects` });
    }
  }
  return true;
}

function parseC4(lines: string[], offset: number, components: ComponentSet, errors: DiagramError[]): void {
  const blocks: number[] = [];
  lines.forEach((raw, i) => {
    const n = offset + i + 1;
    const line = raw.trim();
    if (line === '' || /^title\b/.test(line)) return;
    if (line === '}') {
      if (!blocks.pop()) errors.push({ line: n, message: "'}' without an open boundary" });
      return;
    }
    if (!parseC4Line(line, n, components, errors, blocks)) {
      errors.push({
        line: n,
        message: `'${line.slice(0, 40)}' is not a C4 statement such as Container(alias, "label")`,
      });
    }
  });
  for (const line of blocks) errors.push({ line, message: "this boundary's '{' is never closed with '}'" });
}

// ---------------------------------------------------------------------------
// architecture-beta

const ARCH_DECL = /^(group|service|junction)\s+([\w-]+)(?:\s*\(([^)]*)\))?(?:\s*\[([^\]]*)\])?(?:\s+in\s+([\w-]+))?$/;
const ARCH_EDGE = /^([\w-]+)(?:\{group\})?\s*:\s*([LRTB])\s*(<)?-{2}(>)?\s*([LRTB])\s*:\s*([\w-]+)(?:\{group\})?$/;

function parseArchitecture(
  lines: string[],
  headerIndex: number,
  components: ComponentSet,
  errors: DiagramError[],
): void {
  const declared = new Set<string>();
  const edges: { from: string; to: string; line: number }[] = [];
  for (let i = headerIndex + 1; i < lines.length; i++) {
    const line = lines[i]!.trim();
    const n = i + 1;
    if (line === '' || /^(title|accTitle|accDescr)\b/.test(line)) continue;
    const decl = ARCH_DECL.exec(line);
    if (decl) {
      declared.add(decl[2]!);
      if (decl[1] === 'service') components.add(decl[2]!, decl[4], n);
      continue;
    }
    const edge = ARCH_EDGE.exec(line);
    if (edge) {
      edges.push({ from: edge[1]!, to: edge[6]!, line: n });
      continue;
    }
    if (/^(group|service|junction)\b/.test(line) && /[[(]/.test(line)) {
      errors.push({
        line: n,
        message: `unbalanced brackets in '${line.slice(0, 40)}': write service id(icon)[Label] in group`,
      });
    } else {
      errors.push({
        line: n,
        message: `'${line.slice(0, 40)}' is not a group, service, junction or edge (a:R --> L:b) declaration`,
      });
    }
  }
  for (const edge of edges) {
    for (const end of [edge.from, edge.to]) {
      if (!declared.has(end))
        errors.push({ line: edge.line, message: `'${end}' is used in an edge but never declared` });
    }
  }
}
