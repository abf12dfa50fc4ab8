/**
 * Everything in the notes that is, or tries to be, a diagram: Markdown images
 * (inline and reference-style), HTML `<img>` tags, links to image files or
 * diagram tools (linked, not embedded), diagram-as-code blocks, and
 * reference-style images whose reference is undefined.
 */
import type { Code } from 'mdast';
import type { SourceLocation } from '@labgrader/core';
import { locationOf, plainText, positionWithin, walk, type NotesDocument } from '../markdown/document.js';
import { parsePlantUml } from './plantuml.js';
import type { DiagramParse } from './types.js';

export interface ImageUse {
  kind: 'markdown' | 'reference' | 'html';
  /** The target as written (entities and escapes already decoded by the parser). */
  url: string;
  alt: string;
  location: SourceLocation;
  /** Reference-style: the line of the definition. */
  definitionLine?: number;
}

export interface LinkUse {
  url: string;
  text: string;
  location: SourceLocation;
}

export interface CodeDiagram {
  language: 'mermaid' | 'plantuml';
  /** Location of the opening fence. */
  location: SourceLocation;
  /** Line (in the notes) of the block's first content line. */
  firstLine: number;
  source: string;
  parse: DiagramParse;
}

export interface UndefinedReference {
  label: string;
  location: SourceLocation;
}

export interface DiagramSources {
  images: ImageUse[];
  links: LinkUse[];
  code: CodeDiagram[];
  undefinedReferences: UndefinedReference[];
}

const MERMAID_LANGS = new Set(['mermaid', 'mmd']);
const PLANTUML_LANGS = new Set(['plantuml', 'puml', 'uml']);

/** Which diagram language a fenced block is, if any. */
export function diagramLanguage(code: Code): 'mermaid' | 'plantuml' | undefined {
  const lang = code.lang?.toLowerCase();
  if (lang && MERMAID_LANGS.has(lang)) return 'mermaid';
  if (lang && PLANTUML_LANGS.has(lang)) return 'plantuml';
  if (!lang && /^\s*@startuml\b/.test(code.value)) return 'plantuml';
  return undefined;
}

// Bounded repetitions: a run of '<img' without '>' must not cost quadratic time.
const IMG_TAG = /<img\b[^>]{0,4000}>/gi;
const A_TAG = /<a\b[^>]{0,4000}>/gi;

function attribute(tag: string, name: string): string | undefined {
  const m = new RegExp(`\\s${name}\\s*=\\s*(?:"([^"]*)"|'([^']*)'|([^\\s"'>]+))`, 'i').exec(tag);
  const raw = m ? (m[1] ?? m[2] ?? m[3]) : undefined;
  return raw === undefined ? undefined : decodeEntities(raw);
}

function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#\d+|amp|lt|gt|quot|apos);/gi, (m, e: string) => {
    const lower = e.toLowerCase();
    if (lower === 'amp') return '&';
    if (lower === 'lt') return '<';
    if (lower === 'gt') return '>';
    if (lower === 'quot') return '"';
    if (lower === 'apos') return "'";
    const code = lower.startsWith('#x') ? parseInt(lower.slice(2), 16) : parseInt(lower.slice(1), 10);
    return Number.isFinite(code) && code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : m;
  });
}

/** Where a code block starts in the notes: the key of its Mermaid parse. */
export function blockKey(node: Code): number {
  return node.position?.start.offset ?? -1;
}

/** The Mermaid blocks of the notes, in document order (parsed once, in the docs stage's preparation). */
export function mermaidBlocks(doc: NotesDocument): Code[] {
  const out: Code[] = [];
  walk(doc.tree.children, (node) => {
    if (node.type === 'code' && diagramLanguage(node) === 'mermaid') out.push(node);
  });
  return out;
}

const UNPARSED: DiagramParse = {
  language: 'mermaid',
  type: undefined,
  validated: false,
  components: [],
  errors: [],
  unchecked: 'the diagram was not parsed',
};

export function collectDiagramSources(
  doc: NotesDocument,
  mermaid: ReadonlyMap<number, DiagramParse> = new Map(),
): DiagramSources {
  const out: DiagramSources = { images: [], links: [], code: [], undefinedReferences: [] };
  walk(doc.tree.children, (node) => {
    switch (node.type) {
      case 'image':
        out.images.push({ kind: 'markdown', url: node.url, alt: node.alt ?? '', location: locationOf(doc.path, node) });
        break;
      case 'imageReference': {
        const def = doc.definitions.get(node.identifier.toLowerCase());
        if (def) {
          const use: ImageUse = {
            kind: 'reference',
            url: def.url,
            alt: node.alt ?? '',
            location: locationOf(doc.path, node),
          };
          if (def.position) use.definitionLine = def.position.start.line;
          out.images.push(use);
        } else {
          out.undefinedReferences.push({ label: node.identifier, location: locationOf(doc.path, node) });
        }
        break;
      }
      case 'link':
      case 'linkReference': {
        // A link around an embedded image (`[![x](a.png)](a.png)`) is fine.
        if (node.children.some((c) => c.type === 'image' || c.type === 'imageReference')) break;
        const url = node.type === 'link' ? node.url : doc.definitions.get(node.identifier.toLowerCase())?.url;
        if (url !== undefined) out.links.push({ url, text: plainText(node), location: locationOf(doc.path, node) });
        break;
      }
      case 'html': {
        const start = node.position?.start ?? { line: 1, column: 1 };
        const value = node.value.replace(/<!--[\s\S]*?-->/g, (m) => m.replace(/[^\n]/g, ' '));
        for (const m of value.matchAll(IMG_TAG)) {
          const src = attribute(m[0], 'src');
          const pos = positionWithin(value, m.index, start.line, start.column);
          const location = { file: doc.path, line: pos.line, column: pos.column };
          if (src === undefined) {
            out.images.push({ kind: 'html', url: '', alt: attribute(m[0], 'alt') ?? '', location });
          } else {
            out.images.push({ kind: 'html', url: src, alt: attribute(m[0], 'alt') ?? '', location });
          }
        }
        for (const m of value.matchAll(A_TAG)) {
          const href = attribute(m[0], 'href');
          if (href === undefined) continue;
          const pos = positionWithin(value, m.index, start.line, start.column);
          out.links.push({ url: href, text: '', location: { file: doc.path, line: pos.line, column: pos.column } });
        }
        break;
      }
      case 'code': {
        const language = diagramLanguage(node);
        if (!language) break;
        const location = locationOf(doc.path, node);
        // Fenced blocks start one line before their content; indented ones do not carry a language.
        out.code.push({
          language,
          location,
          firstLine: location.line + 1,
          source: node.value,
          parse: language === 'mermaid' ? (mermaid.get(blockKey(node)) ?? UNPARSED) : parsePlantUml(node.value),
        });
        break;
      }
      case 'text': {
        // `![alt][ref]` without a definition stays literal text.
        const start = node.position?.start ?? { line: 1, column: 1 };
        for (const m of node.value.matchAll(/!\[([^\]\n]{0,500})\]\[([^\]\n]{0,500})\]/g)) {
          const pos = positionWithin(node.value, m.index, start.line, start.column);
          out.undefinedReferences.push({
            label: m[2] || m[1]!,
            location: { file: doc.path, line: pos.line, column: pos.column },
          });
        }
        break;
      }
      default:
        break;
    }
  });
  return out;
}
