/**
 * Kubernetes objects the notes name. Only forms that clearly present a name
 * as a Kubernetes object count, to avoid false positives on ordinary prose
 * ("the web service", "ingress/egress rules"):
 *  1. `kind/name` as kubectl prints and accepts it (`deployment/web`,
 *     `svc/web`, `deployment.apps/web`), in prose, inline code or code blocks;
 *  2. a kind word right next to an inline-code name: "Deployment `web`",
 *     "the Service named `web`", "the `web-config` ConfigMap". Kinds that are
 *     also ordinary words (Service, Secret, Ingress, Job, Namespace, Role,
 *     Gateway) count only when capitalised;
 *  3. `kubectl <verb> <kind> <name>` in inline code or code blocks.
 * Diagram blocks (mermaid, PlantUML) and YAML blocks are not read for
 * mentions: their names are labels, not claims about the manifests.
 */
import type { Code, InlineCode, Nodes } from 'mdast';
import { diagramLanguage } from '../diagrams/collect.js';
import { positionWithin, walk, type NotesDocument } from '../markdown/document.js';

export interface KindInfo {
  kind: string;
  /** kubectl names: singular, plural, short names (lower case). */
  aliases: readonly string[];
  /** Also an ordinary English word: only the capitalised kind counts next to inline code. */
  ambiguous?: boolean;
}

export const KINDS: readonly KindInfo[] = [
  { kind: 'Deployment', aliases: ['deployment', 'deployments', 'deploy'] },
  { kind: 'StatefulSet', aliases: ['statefulset', 'statefulsets', 'sts'] },
  { kind: 'DaemonSet', aliases: ['daemonset', 'daemonsets', 'ds'] },
  { kind: 'Service', aliases: ['service', 'services', 'svc'], ambiguous: true },
  { kind: 'Ingress', aliases: ['ingress', 'ingresses', 'ing'], ambiguous: true },
  { kind: 'ConfigMap', aliases: ['configmap', 'configmaps', 'cm'] },
  { kind: 'Secret', aliases: ['secret', 'secrets'], ambiguous: true },
  { kind: 'PersistentVolumeClaim', aliases: ['persistentvolumeclaim', 'persistentvolumeclaims', 'pvc'] },
  { kind: 'HorizontalPodAutoscaler', aliases: ['horizontalpodautoscaler', 'horizontalpodautoscalers', 'hpa'] },
  { kind: 'PodDisruptionBudget', aliases: ['poddisruptionbudget', 'poddisruptionbudgets', 'pdb'] },
  { kind: 'NetworkPolicy', aliases: ['networkpolicy', 'networkpolicies', 'netpol'] },
  { kind: 'ServiceAccount', aliases: ['serviceaccount', 'serviceaccounts', 'sa'] },
  { kind: 'CronJob', aliases: ['cronjob', 'cronjobs', 'cj'] },
  { kind: 'Job', aliases: ['job', 'jobs'], ambiguous: true },
  { kind: 'Namespace', aliases: ['namespace', 'namespaces', 'ns'], ambiguous: true },
  { kind: 'Role', aliases: ['role', 'roles'], ambiguous: true },
  { kind: 'RoleBinding', aliases: ['rolebinding', 'rolebindings'] },
  { kind: 'Gateway', aliases: ['gateway', 'gateways'], ambiguous: true },
  { kind: 'HTTPRoute', aliases: ['httproute', 'httproutes'] },
];

const BY_ALIAS = new Map<string, KindInfo>();
for (const info of KINDS) {
  for (const alias of info.aliases) BY_ALIAS.set(alias, info);
  BY_ALIAS.set(info.kind.toLowerCase(), info);
}

export function kindInfo(kind: string): KindInfo | undefined {
  return BY_ALIAS.get(kind.toLowerCase());
}

export interface Mention {
  kind: string;
  name: string;
  line: number;
  column: number;
  /** How it was recognised: `kind/name`, `kind next to code`, `kubectl`. */
  form: 'slash' | 'adjacent' | 'kubectl';
  /**
   * Weak mentions (`service/app` in running prose, where the name is a plain
   * word) count as mentions but are never reported as missing from the
   * manifests: "service/pod" may just be prose.
   */
  strong: boolean;
}

const DNS_NAME = '[a-z0-9](?:[-a-z0-9.]*[a-z0-9])?';
const NAME_RE = new RegExp(`^${DNS_NAME}$`);
const ALIASES = [...BY_ALIAS.keys()].sort((a, b) => b.length - a.length).join('|');
/** `kind(.group)/name`, not inside a path or URL. */
const SLASH = new RegExp(
  `(?<![\\w./-])(${ALIASES})(?:\\.[a-z0-9-]+(?:\\.[a-z0-9-]+)*)?/(${DNS_NAME})(?![\\w/-])`,
  'gi',
);
/** `kubectl <verb> <kind> [generic|tls|docker-registry] <name>`. */
const KUBECTL = new RegExp(
  `\\bkubectl\\b[^\\n|;&]{0,200}?\\s(${ALIASES})\\s+(?:(?:generic|tls|docker-registry)\\s+)?(?!-)(${DNS_NAME})(?![\\w/.-])`,
  'gi',
);
/** Names that follow a kind word without being object names ("ingress/egress"). */
const NOT_NAMES = new Set([
  'egress',
  'ingress',
  'and',
  'or',
  'the',
  'a',
  'an',
  'all',
  'any',
  'each',
  'yaml',
  'json',
  'pod',
  'pods',
  'container',
  'containers',
  'node',
  'nodes',
  'cluster',
]);

const SECRET_TYPES = new Set(['generic', 'tls', 'docker-registry']);

function plausibleName(name: string): boolean {
  return NAME_RE.test(name) && !NOT_NAMES.has(name) && !BY_ALIAS.has(name);
}

function scan(
  value: string,
  line: number,
  column: number,
  forms: readonly ('slash' | 'kubectl')[],
  out: Mention[],
  prose = false,
): void {
  if (forms.includes('slash')) {
    for (const m of value.matchAll(SLASH)) {
      const info = kindInfo(m[1]!);
      const name = m[2]!.toLowerCase();
      if (!info || !plausibleName(name)) continue;
      const strong = !prose || /[-0-9]/.test(name);
      out.push({ kind: info.kind, name, ...positionWithin(value, m.index, line, column), form: 'slash', strong });
    }
  }
  if (forms.includes('kubectl')) {
    for (const m of value.matchAll(KUBECTL)) {
      const info = kindInfo(m[1]!);
      const name = m[2]!.toLowerCase();
      // `kubectl create secret generic NAME`: the word after the kind is a subcommand.
      if (info?.kind === 'Secret' && SECRET_TYPES.has(name)) continue;
      if (!info || !plausibleName(name)) continue;
      out.push({
        kind: info.kind,
        name,
        ...positionWithin(value, m.index, line, column),
        form: 'kubectl',
        strong: true,
      });
    }
  }
}

/** The kind a word names next to inline code, honouring capitalisation for ambiguous kinds. */
function kindWord(word: string): KindInfo | undefined {
  const info = kindInfo(word);
  if (!info) return undefined;
  const lower = word.toLowerCase();
  const isShort = !info.aliases.slice(0, 2).includes(lower) && lower !== info.kind.toLowerCase();
  if (isShort) return undefined; // "the `web` svc" is too informal to be sure
  if (info.ambiguous)
    return word[0] === word[0]!.toUpperCase() && word[0] !== word[0]!.toLowerCase() ? info : undefined;
  return info;
}

/** Nodes whose children are inline content where "Kind `name`" can appear. */
const PHRASING_PARENTS = new Set([
  'paragraph',
  'heading',
  'strong',
  'emphasis',
  'delete',
  'link',
  'linkReference',
  'tableCell',
]);

function adjacent(parent: { children: readonly Nodes[] }, out: Mention[]): void {
  const children = parent.children;
  children.forEach((child, i) => {
    if (child.type !== 'inlineCode') return;
    const code = child as InlineCode;
    const name = code.value.trim().toLowerCase();
    if (!plausibleName(name)) return;
    const before = children[i - 1];
    const after = children[i + 1];
    let info: KindInfo | undefined;
    if (before?.type === 'text') {
      const m = /(?:^|[\s(])([A-Za-z]+)\s+(?:(?:named|called)\s+)?$/.exec(before.value);
      if (m) info = kindWord(m[1]!);
    }
    if (!info && after?.type === 'text') {
      const m = /^\s+([A-Za-z]+)\b/.exec(after.value);
      if (m) info = kindWord(m[1]!);
    }
    if (!info) return;
    const start = code.position?.start ?? { line: 1, column: 1 };
    out.push({ kind: info.kind, name, line: start.line, column: start.column, form: 'adjacent', strong: true });
  });
}

const SHELLISH = /^(console|shell|sh|bash|zsh|text|plaintext|terminal|shell-session|powershell|ps|log|output)?$/i;

export function findMentions(doc: NotesDocument): Mention[] {
  const out: Mention[] = [];
  walk(doc.tree.children, (node: Nodes) => {
    const start = node.position?.start ?? { line: 1, column: 1 };
    switch (node.type) {
      case 'text':
        scan(node.value, start.line, start.column, ['slash'], out, true);
        break;
      case 'inlineCode':
        scan(node.value, start.line, start.column, ['slash', 'kubectl'], out);
        break;
      case 'code': {
        const code = node as Code;
        if (diagramLanguage(code) || !SHELLISH.test(code.lang ?? '')) break;
        // Content starts on the line after the fence.
        scan(code.value, start.line + 1, 1, ['slash', 'kubectl'], out);
        break;
      }
      default:
        if (PHRASING_PARENTS.has(node.type) && 'children' in node) adjacent(node as { children: Nodes[] }, out);
        break;
    }
  });
  return out.sort((a, b) => a.line - b.line || a.column - b.column);
}

/** Whether the notes mention a name anywhere (prose, code, diagrams, alt text), as a whole word. */
export function mentionsName(doc: NotesDocument, name: string): { line: number } | undefined {
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const re = new RegExp(`(?<![\\p{L}\\p{N}_-])${escaped}(?![\\p{L}\\p{N}_]|-[\\p{L}\\p{N}])`, 'iu');
  const m = re.exec(doc.text);
  if (!m) return undefined;
  let line = 1;
  for (let i = 0; i < m.index; i++) if (doc.text.charCodeAt(i) === 10) line++;
  return { line };
}
