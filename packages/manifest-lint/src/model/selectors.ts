/** Label selectors as Kubernetes evaluates them. */
import { asArray, asRecord, asString, isRecord } from './object.js';

export interface LabelSelector {
  matchLabels: Record<string, string>;
  matchExpressions: Array<{ key: string; operator: string; values: string[] }>;
}

/** A `{matchLabels, matchExpressions}` selector; undefined when the value is not one. */
export function toLabelSelector(value: unknown): LabelSelector | undefined {
  if (!isRecord(value)) return undefined;
  const matchLabels: Record<string, string> = {};
  for (const [k, v] of Object.entries(asRecord(value.matchLabels))) matchLabels[k] = String(v);
  const matchExpressions = asArray(value.matchExpressions)
    .filter(isRecord)
    .map((e) => ({
      key: asString(e.key) ?? '',
      operator: asString(e.operator) ?? '',
      values: asArray(e.values).map(String),
    }));
  return { matchLabels, matchExpressions };
}

/** A Service-style plain `key: value` selector. */
export function mapSelector(value: unknown): LabelSelector {
  const matchLabels: Record<string, string> = {};
  for (const [k, v] of Object.entries(asRecord(value))) matchLabels[k] = String(v);
  return { matchLabels, matchExpressions: [] };
}

export function isEmptySelector(selector: LabelSelector): boolean {
  return Object.keys(selector.matchLabels).length === 0 && selector.matchExpressions.length === 0;
}

/** Whether a selector or peer selects something: `maybe` when it depends on labels the repository cannot tell. */
export type Verdict = 'yes' | 'no' | 'maybe';

/** The labels of a namespace or pod, as far as they are known (`complete`: no other label exists). */
export interface KnownLabels {
  labels: Record<string, string>;
  complete: boolean;
}

/** A selector against labels that may be incomplete: a requirement on an unknown label is `maybe`. */
export function selectorVerdict(selector: LabelSelector, known: KnownLabels): Verdict {
  let verdict: Verdict = 'yes';
  const unknown = () => {
    if (known.complete) return false;
    verdict = 'maybe';
    return true;
  };
  const has = (key: string) => Object.prototype.hasOwnProperty.call(known.labels, key);
  for (const [key, value] of Object.entries(selector.matchLabels)) {
    if (has(key)) {
      if (known.labels[key] !== value) return 'no';
    } else if (!unknown()) return 'no';
  }
  for (const { key, operator, values } of selector.matchExpressions) {
    const present = has(key);
    const value = known.labels[key];
    switch (operator) {
      case 'In':
        if (present ? !values.includes(value!) : !unknown()) return 'no';
        break;
      case 'NotIn':
        if (present ? values.includes(value!) : false) return 'no';
        if (!present) unknown();
        break;
      case 'Exists':
        if (!present && !unknown()) return 'no';
        break;
      case 'DoesNotExist':
        if (present) return 'no';
        unknown();
        break;
      default:
        return 'no'; // not a valid operator: the API server rejects the policy
    }
  }
  return verdict;
}

export function selectorMatches(selector: LabelSelector, labels: Record<string, string>): boolean {
  return selectorVerdict(selector, { labels, complete: true }) === 'yes';
}

export function formatSelector(selector: LabelSelector): string {
  const parts = Object.entries(selector.matchLabels).map(([k, v]) => `${k}=${v}`);
  for (const e of selector.matchExpressions)
    parts.push(`${e.key} ${e.operator}${e.values.length ? ` (${e.values.join(',')})` : ''}`);
  return parts.join(', ') || '(everything)';
}

/**
 * The namespace an object lands in. Manifests often leave it out; `kubectl
 * apply` then puts every such object in one namespace, `default` (the cluster
 * stage does the same), so "no namespace" is one namespace, and it is `default`.
 */
export function namespaceOf(namespace: string | undefined): string {
  return namespace ?? 'default';
}

/**
 * Whether two objects are in the same namespace. Selectors (a Service's,
 * a PodDisruptionBudget's, a NetworkPolicy's) only ever match pods of their
 * own namespace: use this for them.
 */
export function sameNamespace(a: string | undefined, b: string | undefined): boolean {
  return namespaceOf(a) === namespaceOf(b);
}

/**
 * For references by name (an HPA's target, an Ingress backend, a roleRef):
 * an object without a namespace may be applied with `kubectl -n` next to the
 * one it names, so only two different namespaces rule it out.
 */
export function mayShareNamespace(a: string | undefined, b: string | undefined): boolean {
  return a === undefined || b === undefined || a === b;
}

/** Selects in every namespace (a ServiceMonitor with `namespaceSelector.any`). */
export const ALL_NAMESPACES: unique symbol = Symbol('all namespaces');
export type NamespaceScope = string | undefined | typeof ALL_NAMESPACES;

export function inScope(namespace: string | undefined, scope: NamespaceScope): boolean {
  return scope === ALL_NAMESPACES || sameNamespace(namespace, scope);
}
