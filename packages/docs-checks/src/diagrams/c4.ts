/**
 * C4-PlantUML macros (`Container(api, "API", "Go")`, `Rel(a, b, "uses")`,
 * boundaries with `{ … }`): validated line by line for the PlantUML subset
 * (plantuml.ts). Mermaid's C4 diagrams are checked by mermaid's own parser.
 */
import { closestMatch } from '@labgrader/core';
import type { ComponentSet, DiagramError } from './types.js';

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
    const suggestion = closestMatch(macro, [...C4_MACROS], { maxDistance: 2 });
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
