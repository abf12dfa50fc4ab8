/**
 * How people write the names of Kubernetes objects. The StatefulSet
 * `postgres` is "PostgreSQL", "the Postgres database" or "postgres-db"; the
 * Deployment `web-frontend` is "the web frontend"; `deployment/web` is "the
 * web Deployment". Names are compared folded (lower case, no accents,
 * separators as spaces), with kind words stripped from the name
 * (`web-deployment` → web) and well-known software aliases
 * (postgres ↔ postgresql ↔ pg, mongo ↔ mongodb…).
 *
 * `kindClaims` finds where the prose says what kind an object is ("PostgreSQL
 * runs as a StatefulSet", "the web Deployment", "le StatefulSet postgres"), so
 * that the notes can be checked against the manifests' kinds.
 */
import type { KubeObjectRef } from '@labgrader/core';
import { foldText } from '../language/vocabulary.js';
import { positionWithin } from '../markdown/document.js';

/** Names that are the same software. */
const ALIAS_CLASSES: readonly (readonly string[])[] = [
  ['postgres', 'postgresql', 'postgre', 'pg', 'psql', 'pgsql'],
  ['mongo', 'mongodb'],
  ['mysql', 'mysqld'],
  ['mariadb', 'maria'],
  ['redis', 'redis server'],
  ['elasticsearch', 'elastic', 'elastic search'],
  ['rabbitmq', 'rabbit', 'rabbit mq'],
  ['memcached', 'memcache'],
  ['prometheus', 'prom'],
  ['influxdb', 'influx'],
  ['zookeeper', 'zk'],
  ['mssql', 'sqlserver', 'sql server'],
  ['couchdb', 'couch'],
  ['db', 'database', 'base de donnees', 'bdd'],
  ['frontend', 'front end', 'front'],
  ['backend', 'back end'],
];

const ALIASES = new Map<string, readonly string[]>();
for (const cls of ALIAS_CLASSES) for (const name of cls) ALIASES.set(name, cls);

/** Kind words that are part of a name but not what it is called (`web-deployment`, `api-svc`). */
const KIND_AFFIXES = new Set([
  'deployment',
  'deploy',
  'dep',
  'statefulset',
  'sts',
  'daemonset',
  'ds',
  'service',
  'svc',
  'pod',
  'workload',
]);

/** Words too generic to name an object on their own, even when an object has that name. */
const TOO_GENERIC = new Set(['app', 'api', 'server', 'service', 'main', 'default', 'data', 'config', 'front', 'back']);

function tokensOf(name: string): string[] {
  // camelCase and digits stay one word; separators split.
  return foldText(name.replace(/([a-z])([A-Z])/g, '$1 $2'))
    .split(' ')
    .filter(Boolean);
}

/** The folded phrases that name an object in prose, most specific first. */
export function nameForms(name: string): string[] {
  return nameFormsOf(name).map((f) => f.form);
}

/**
 * The folded phrases that name an object, most specific first; `loose` when
 * a phrase names the software one of its words is (`postgres-db` and
 * `postgres-secret` → "PostgreSQL"), not the object itself.
 */
export function nameFormsOf(name: string): { form: string; loose: boolean }[] {
  const tokens = tokensOf(name);
  const forms = new Map<string, boolean>();
  forms.set(tokens.join(' '), false);
  const core = tokens.filter((t) => !KIND_AFFIXES.has(t));
  if (core.length > 0) forms.set(core.join(' '), false);
  const phrase = core.join(' ');
  for (const alias of ALIASES.get(phrase) ?? []) forms.set(alias, false);
  for (const token of core) {
    const cls = ALIASES.get(token);
    if (!cls) continue;
    // `postgres-db`: PostgreSQL alone names it.
    for (const alias of cls) if (!TOO_GENERIC.has(alias) && !forms.has(alias)) forms.set(alias, true);
  }
  return [...forms]
    .filter(([f]) => f !== '' && !(f.split(' ').length === 1 && TOO_GENERIC.has(f) && f !== tokens.join(' ')))
    .map(([form, loose]) => ({ form, loose }));
}

export interface FoldedLines {
  text: string;
  /** Start offset of each line in `text` (1-based line = index + 1). */
  starts: number[];
}

/**
 * Folds a text for finding names, line by line so that offsets map back to
 * lines: lower case, no accents, and words kept whole with their inner
 * hyphens, dots and underscores (`web-config` is one word, not "web").
 */
export function foldLines(text: string): FoldedLines {
  const starts: number[] = [];
  let out = '';
  for (const line of text.split('\n')) {
    starts.push(out.length);
    const folded = line
      .normalize('NFD')
      .replace(/\p{M}+/gu, '')
      .toLowerCase()
      .replace(/[^\p{L}\p{N}_.-]+/gu, ' ')
      .replace(/(?<![\p{L}\p{N}])[_.-]+|[_.-]+(?![\p{L}\p{N}])/gu, ' ');
    out += `${folded}\n`;
  }
  return { text: out, starts };
}

export function lineAt(folded: FoldedLines, index: number): number {
  let lo = 0;
  let hi = folded.starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (folded.starts[mid]! <= index) lo = mid;
    else hi = mid - 1;
  }
  return lo + 1;
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Where the text first names an object (any of its forms, as whole words). */
export function findName(folded: FoldedLines, name: string): { line: number; form: string } | undefined {
  let best: { index: number; form: string } | undefined;
  const exact = name.toLowerCase();
  for (const form of [exact, ...nameForms(name)]) {
    const re = new RegExp(`(?<![^\\s])${escape(form).replace(/ /g, '\\s+')}(?![^\\s])`, 'u');
    const m = re.exec(folded.text);
    if (m && (!best || m.index < best.index)) best = { index: m.index, form };
  }
  return best ? { line: lineAt(folded, best.index), form: best.form } : undefined;
}

/** Whether a name written in the notes (`postgresql`) names this object (`postgres`). */
export function namesObject(written: string, objectName: string): boolean {
  const forms = new Set(nameForms(objectName));
  return nameForms(written).some((f) => forms.has(f));
}

export const WORKLOAD_KINDS = ['Deployment', 'StatefulSet', 'DaemonSet', 'CronJob', 'Job'] as const;

/** How a kind is written in prose; Deployment and Job are also English words, so only capitalised. */
const KIND_WORD: Record<string, RegExp> = {
  Deployment: /^Deployments?$/,
  StatefulSet: /^(?:StatefulSets?|Statefulsets?|statefulsets?)$/,
  DaemonSet: /^(?:DaemonSets?|Daemonsets?|daemonsets?)$/,
  CronJob: /^(?:CronJobs?|Cronjobs?|cronjobs?)$/,
  Job: /^Jobs?$/,
};

export interface KindClaim {
  /** What the prose says the object is. */
  kind: string;
  /** The object of the manifests it names. */
  object: KubeObjectRef;
  /** The words that named it. */
  written: string;
  line: number;
  column: number;
}

interface Token {
  raw: string;
  folded: string;
  index: number;
}

/**
 * Kind claims in one line of prose: each kind word is paired with the
 * nearest object name at most four words away in the same sentence (when two
 * names are as near, none: the claim is ambiguous).
 */
export function kindClaims(
  text: string,
  line: number,
  column: number,
  objects: readonly KubeObjectRef[],
  out: KindClaim[],
): void {
  let searchFrom = 0;
  for (const sentence of text.split(/(?<=[.!?;:])\s+/)) {
    const offset = text.indexOf(sentence, searchFrom);
    searchFrom = offset + sentence.length;
    const tokens: Token[] = [];
    for (const m of sentence.matchAll(/[\p{L}\p{N}]+(?:[-_.][\p{L}\p{N}]+)*/gu)) {
      tokens.push({ raw: m[0], folded: foldText(m[0]), index: offset + m.index });
    }
    const kinds = tokens
      .map((t, i) => ({ i, kind: Object.entries(KIND_WORD).find(([, re]) => re.test(t.raw))?.[0] }))
      .filter((k): k is { i: number; kind: string } => k.kind !== undefined);
    if (kinds.length === 0) continue;
    // Object names in the sentence: token spans matching an object's forms.
    const names: { start: number; end: number; object: KubeObjectRef; written: string }[] = [];
    for (const object of objects) {
      if (!(WORKLOAD_KINDS as readonly string[]).includes(object.kind)) continue;
      for (const form of nameForms(object.name)) {
        const words = form.split(' ');
        for (let i = 0; i + words.length <= tokens.length; i++) {
          const span = tokens
            .slice(i, i + words.length)
            .map((t) => t.folded)
            .join(' ');
          const whole = tokens[i]!.folded === foldText(object.name);
          if (span === form || whole) {
            names.push({
              start: i,
              end: i + words.length - 1,
              object,
              written: tokens
                .slice(i, i + words.length)
                .map((t) => t.raw)
                .join(' '),
            });
          }
        }
      }
    }
    for (const k of kinds) {
      const near = names
        .map((n) => ({ n, d: n.end < k.i ? k.i - n.end : n.start > k.i ? n.start - k.i : Infinity }))
        .filter((x) => x.d <= 4)
        .sort((a, b) => a.d - b.d);
      if (near.length === 0) continue;
      if (near.length > 1 && near[1]!.d === near[0]!.d && near[1]!.n.object !== near[0]!.n.object) continue;
      const { n } = near[0]!;
      const at = positionWithin(text, tokens[n.start]!.index, line, column);
      out.push({ kind: k.kind, object: n.object, written: n.written, line: at.line, column: at.column });
    }
  }
}
