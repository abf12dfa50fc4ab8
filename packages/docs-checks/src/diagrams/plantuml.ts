/**
 * A small PlantUML validator for component, deployment and sequence diagrams
 * (the ones an architecture is drawn with). PlantUML's real grammar lives in
 * a Java program; this is a conservative subset that flags only what is
 * certainly wrong and leaves unknown lines alone (PlantUML has hundreds of
 * commands, and a false "does not parse" would cost a student points).
 *
 * Validated subset:
 *  - `@startuml` … `@enduml` pairing (both or neither; other `@start…` kinds
 *    such as mindmap or gantt are recognised as not validated);
 *  - `'` line comments and `/' … '/` block comments are skipped;
 *  - element declarations (`component`, `node`, `database`, `queue`, `cloud`,
 *    `actor`, `participant`, `rectangle`, `package`, `frame`, `folder`,
 *    `artifact`, `interface`, `storage`, `collections`, `boundary`, `control`,
 *    `entity`, `usecase`, `agent`, `card`, `file`, `stack`, `hexagon`,
 *    `person`, `process`, …) with `"Label" as alias`, `alias as "Label"`,
 *    `[Label] as alias`, stereotypes and colours; `[Component]` and `()`
 *    shorthands; C4-PlantUML macros (`Container(…)`, `Rel(…)`);
 *  - relations: any arrow made of `-`, `.` or `=` with optional heads
 *    (`>`, `<`, `|>`, `*`, `o`, `#`, `+`, `x`), direction words
 *    (`-up->`, `-d->`) and styles (`-[#red]->`), followed by `: label`;
 *  - `{` … `}` blocks balanced; `note … end note`, `legend … endlegend`,
 *    `box … end box`, `alt/loop/group/… end` blocks closed.
 * Errors: unpaired `@startuml`/`@enduml`, unbalanced braces or blocks, a
 * relation without a source or target, unclosed quotes or `[`.
 */
import { parseC4Line } from './c4.js';
import { ComponentSet, type DiagramError, type DiagramParse } from './types.js';

const ELEMENT_KEYWORDS = [
  'actor',
  'agent',
  'artifact',
  'boundary',
  'card',
  'circle',
  'cloud',
  'collections',
  'component',
  'control',
  'database',
  'entity',
  'file',
  'folder',
  'frame',
  'hexagon',
  'interface',
  'label',
  'node',
  'package',
  'participant',
  'person',
  'process',
  'queue',
  'rectangle',
  'stack',
  'storage',
  'usecase',
];

const ELEMENT = new RegExp(
  `^(${ELEMENT_KEYWORDS.join('|')})\\s+(?:"([^"]*)"|\\[([^\\]]*)\\]|:([^:]*):|\\(([^)]*)\\)|([^\\s"{<#]+))(?:\\s+as\\s+(?:"([^"]*)"|([^\\s{<#]+)))?`,
);

/**
 * Arrow candidates: optional head, a body of `-`, `.` or `=` (with an optional
 * `[style]` or direction word inside), optional head. `findArrow` decides
 * which candidate really is an arrow.
 */
const ARROW_CANDIDATE =
  /(<\|?|<<|\*|o|#|\+|x|\}|\\\\|\/\/|\/|\\)?([-.=]+(?:\[[^\]]*\]|up|down|left|right|le|ri|do|u|d|l|r)?[-.=]*)(\|?>|>>|\*|o|#|\+|x|\{|\\\\|\/\/|\/|\\)?/g;

/** The first real arrow of a line outside quotes and brackets, if any. */
export function findArrow(line: string): { index: number; arrow: string } | undefined {
  ARROW_CANDIDATE.lastIndex = 0;
  let scanned = 0;
  let quotes = 0;
  let lastOpen = -1;
  let lastClose = -1;
  for (let m = ARROW_CANDIDATE.exec(line); m; m = ARROW_CANDIDATE.exec(line)) {
    const body = m[2]!;
    let [text, head, tail] = [m[0], m[1], m[3]];
    let index = m.index;
    // A letter "head" glued to a word is part of that word.
    if (head && /^[ox]$/.test(head) && index > 0 && /[\p{L}\p{N}_]/u.test(line[index - 1]!)) {
      index += 1;
      text = text.slice(1);
      head = undefined;
    }
    const after = line[m.index + m[0].length];
    if (tail && /^[ox]$/.test(tail) && after !== undefined && /[\p{L}\p{N}_]/u.test(after)) {
      text = text.slice(0, -1);
      tail = undefined;
    }
    const bodyChars = body.replace(/\[[^\]]*\]|[a-z]/g, '').length;
    // Quote parity and bracket state up to the candidate, kept incrementally (linear per line).
    for (; scanned < index; scanned++) {
      const ch = line[scanned];
      if (ch === '"') quotes++;
      else if (ch === '[') lastOpen = scanned;
      else if (ch === ']') lastClose = scanned;
    }
    if (quotes % 2 === 1 || lastOpen > lastClose) continue;
    if (bodyChars >= 2 || (bodyChars >= 1 && (head !== undefined || tail !== undefined))) {
      // `a.b` or `x-y` glued on both sides without heads is a name, not an arrow.
      const glued =
        /[\p{L}\p{N}_]/u.test(line[index - 1] ?? ' ') && /[\p{L}\p{N}_]/u.test(line[index + text.length] ?? ' ');
      if (glued && !head && !tail && bodyChars < 2) continue;
      return { index, arrow: text };
    }
  }
  return undefined;
}

const ENDPOINT =
  /^(?:\[([^\]]+)\]|\(\)\s*"?([^"]*)"?|\(([^)]+)\)|:([^:]+):|"([^"]+)"|([\p{L}\p{N}_.-]+))(?:\s*<<[^>]*>>)?(?:\s*#\S+)?$/u;

const BLOCK_OPENERS: Record<string, RegExp> = {
  note: /^(?:r|h)?note\b(?!.*:)(?!.*\bend note\b)/i,
  legend: /^legend(?=\s|$)/i,
  box: /^box(?=\s|$)/i,
  group: /^(alt|opt|loop|par|break|critical|group)(?=\s|$)/i,
};
const BLOCK_CLOSERS: Record<string, RegExp> = {
  note: /^end\s*(r|h)?note$/i,
  legend: /^endlegend$/i,
  box: /^end\s*box$/i,
  group: /^end$/i,
};

/** Longer lines are not diagram statements (and are not parsed, to keep the cost linear). */
const MAX_LINE = 2_000;

export function parsePlantUml(source: string): DiagramParse {
  const errors: DiagramError[] = [];
  const components = new ComponentSet();
  const tooLongError = (i: number): DiagramError => ({
    line: i + 1,
    message: `this line is longer than ${MAX_LINE} characters`,
  });
  const raw = source.replace(/\r\n?/g, '\n').split('\n');
  // Strip block comments /' … '/ keeping line numbers.
  const lines: string[] = [];
  let inComment = false;
  for (const line of raw) {
    let out = '';
    let rest = line;
    for (;;) {
      if (inComment) {
        const end = rest.indexOf("'/");
        if (end < 0) break;
        rest = rest.slice(end + 2);
        inComment = false;
      } else {
        const start = rest.indexOf("/'");
        if (start < 0) {
          out += rest;
          break;
        }
        out += rest.slice(0, start);
        rest = rest.slice(start + 2);
        inComment = true;
      }
    }
    lines.push(out.trimStart().startsWith("'") ? '' : out);
  }
  const tooLong = new Set<number>();
  lines.forEach((l, i) => {
    if (l.length > MAX_LINE) {
      tooLong.add(i);
      lines[i] = '';
    }
  });

  for (const i of tooLong) errors.push(tooLongError(i));
  const start = lines.findIndex((l) => /^\s*@start\w+/.test(l));
  const kind = start >= 0 ? /^\s*@start(\w+)/.exec(lines[start]!)![1]! : 'uml';
  const end = lines.findIndex((l) => /^\s*@end\w+/.test(l));
  if (start >= 0 && end < 0)
    errors.push({ line: start + 1, message: `@start${kind} is never closed with @end${kind}` });
  if (end >= 0 && (start < 0 || end < start))
    errors.push({ line: end + 1, message: `${lines[end]!.trim()} without @start${kind}` });
  if (start >= 0 && end >= 0 && lines[end]!.trim() !== `@end${kind}`) {
    errors.push({ line: end + 1, message: `@start${kind} must be closed with @end${kind}, not ${lines[end]!.trim()}` });
  }
  if (kind !== 'uml') {
    return { language: 'plantuml', type: kind, validated: false, components: [], errors };
  }

  const first = start >= 0 ? start + 1 : 0;
  const last = end >= 0 ? end : lines.length;
  const braces: number[] = [];
  const blocks: { kind: string; line: number }[] = [];
  const c4Blocks: number[] = [];
  let sawSequenceArrow = false;
  let sawComponent = false;

  const addEndpoint = (text: string, n: number): boolean => {
    const m = ENDPOINT.exec(text.trim());
    if (!m) return false;
    const name = (m[1] ?? m[2] ?? m[3] ?? m[4] ?? m[5] ?? m[6] ?? '').trim();
    if (!name) return false;
    components.add(name, undefined, n);
    return true;
  };

  for (let i = first; i < last; i++) {
    const n = i + 1;
    const line = lines[i]!.trim();
    if (line === '') continue;
    // Inside a multi-line note or legend nothing is syntax.
    const top = blocks[blocks.length - 1];
    if (top && (top.kind === 'note' || top.kind === 'legend')) {
      if (BLOCK_CLOSERS[top.kind]!.test(line)) blocks.pop();
      continue;
    }
    if ((line.match(/"/g)?.length ?? 0) % 2 === 1) {
      errors.push({ line: n, message: 'this line has an unclosed quote' });
      continue;
    }
    if (
      /^(!|skinparam\b(?!.*\{$)|title\b|header\b|footer\b|caption\b|scale\b|hide\b|show\b|left to right|top to bottom|autonumber\b|activate\b|deactivate\b|destroy\b|return\b|newpage\b|\.\.\.|\|\|\||==|'|allowmixing|set\b|remove\b|together\b)/i.test(
        line,
      )
    ) {
      continue;
    }
    if (line === '}') {
      if (c4Blocks.length > 0 && (braces.length === 0 || c4Blocks[c4Blocks.length - 1]! > braces[braces.length - 1]!)) {
        c4Blocks.pop();
      } else if (!braces.pop()) errors.push({ line: n, message: "'}' without a matching '{'" });
      continue;
    }
    let matched = false;
    for (const [kind, opener] of Object.entries(BLOCK_OPENERS)) {
      if (opener.test(line)) {
        blocks.push({ kind, line: n });
        matched = true;
        break;
      }
    }
    if (matched) continue;
    const closer = Object.entries(BLOCK_CLOSERS).find(([, re]) => re.test(line));
    if (closer) {
      const open = blocks.pop();
      if (!open) errors.push({ line: n, message: `'${line}' without an open block` });
      continue;
    }
    if (/^(else|also)\b/i.test(line)) continue;
    if (/^note\b/i.test(line)) continue; // single-line note
    if (parseC4Line(line, n, components, errors, c4Blocks)) {
      sawComponent = true;
      continue;
    }
    const element = ELEMENT.exec(line);
    if (element) {
      const named = element[2] ?? element[3] ?? element[4] ?? element[5] ?? element[6] ?? '';
      const alias = element[7] ?? element[8];
      // `component "Label" as alias` or `component alias as "Label"`
      const id = alias && (element[2] !== undefined || element[3] !== undefined) ? alias : named;
      const label = alias && (element[2] !== undefined || element[3] !== undefined) ? named : (alias ?? named);
      if (element[1] !== 'label') components.add(id, label, n);
      sawComponent = sawComponent || element[1] !== 'participant';
      if (/\{\s*$/.test(line)) braces.push(n);
      continue;
    }
    if (/^skinparam\b.*\{$/.test(line) || /^(namespace|together|class|enum|abstract)\b.*\{$/.test(line)) {
      braces.push(n);
      continue;
    }
    if (/^\[[^\]]*$/.test(line)) {
      errors.push({ line: n, message: "'[' is never closed with ']'" });
      continue;
    }
    const bracketDecl = /^\[([^\]]+)\](?:\s+as\s+([\w.]+))?(?:\s*<<[^>]*>>)?(?:\s*#\S+)?\s*(\{)?$/.exec(line);
    if (bracketDecl) {
      components.add(bracketDecl[2] ?? bracketDecl[1]!, bracketDecl[1], n);
      if (bracketDecl[3]) braces.push(n);
      sawComponent = true;
      continue;
    }
    const found = findArrow(line);
    if (found) {
      const from = line.slice(0, found.index).trim();
      const rest = line.slice(found.index + found.arrow.length);
      const to = rest.replace(/\s*:.*$/, '').trim();
      if (!from) {
        errors.push({ line: n, message: `the arrow '${found.arrow}' has no element before it` });
        continue;
      }
      if (!to) {
        errors.push({ line: n, message: `the arrow '${found.arrow}' has no element after it` });
        continue;
      }
      // Forms this subset does not model are left alone rather than flagged.
      const okFrom = addEndpoint(from, n);
      const okTo = okFrom && addEndpoint(to, n);
      if (okFrom && okTo && /^<?-+>?>?$/.test(found.arrow)) sawSequenceArrow = true;
      continue;
    }
    // Anything else is PlantUML syntax this subset does not model; not an error.
  }
  for (const open of braces) errors.push({ line: open, message: "this '{' is never closed with '}'" });
  for (const open of c4Blocks) errors.push({ line: open, message: "this boundary's '{' is never closed with '}'" });
  for (const block of blocks) {
    const closers: Record<string, string> = { note: 'end note', legend: 'endlegend', box: 'end box', group: 'end' };
    errors.push({ line: block.line, message: `this block is never closed with '${closers[block.kind]}'` });
  }
  const type = sawComponent ? 'component' : sawSequenceArrow ? 'sequence' : 'uml';
  return {
    language: 'plantuml',
    type,
    validated: true,
    components: components.list(),
    errors: errors.sort((a, b) => a.line - b.line),
  };
}
