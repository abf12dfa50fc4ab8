/**
 * Source positions for plain values, without keeping syntax trees.
 *
 * After a document is converted to plain values, one pass over its syntax
 * tree records, for every mapping and list, the offsets of each entry's key
 * and value in a compact Int32Array keyed (weakly) by the plain object. The
 * tree is then dropped: a 10,000-document corpus keeps a few megabytes of
 * offsets instead of hundreds of megabytes of nodes, and placing a finding
 * never needs a second parse.
 */
import { isAlias, isMap, isPair, isScalar, isSeq, type Document } from 'yaml';

/**
 * Where each container's entries start in its document's position buffer.
 * One small number per container; the offsets themselves live in one
 * Int32Array per document (typed arrays per container would cost more in
 * headers than in data).
 */
const OFFSETS = new WeakMap<object, number>();
const WIDTH = 4;

function rangeOf(node: unknown): [number, number] | undefined {
  const range = (node as { range?: [number, number, number] } | null)?.range;
  return range ? [range[0], range[1]] : undefined;
}

export class AliasBombError extends Error {}

/** Invalid UTF-8 becomes U+FFFD, as Go's encoding/json writes it when the API server converts YAML to JSON. */
const BINARY_TEXT = new TextDecoder('utf-8', { fatal: false });

/**
 * Converts a composed document to plain values (as `doc.toJS()` would) and
 * records every entry's offsets in the same pass. Aliases resolve to the
 * anchored value (shared, never copied); their expanded size is summed and
 * a document whose aliases expand to more than `maxAliasRatio` times its own
 * size is refused (a "billion laughs" attack costs a few microseconds).
 */
export function toPlain(doc: Document, maxAliasRatio: number): { value: unknown; positions: Int32Array } {
  const state: ConvertState = {
    doc,
    buffer: [],
    converted: new Map(),
    sizes: new Map(),
    expanded: 0,
    nodes: 0,
    maxAliasRatio,
  };
  const value = convert(doc.contents, state, 0);
  return { value, positions: Int32Array.from(state.buffer) };
}

interface ConvertState {
  doc: Document;
  buffer: number[];
  /** Plain value of each converted collection (aliases share it). */
  converted: Map<unknown, unknown>;
  /** Expanded size of each collection, aliases counted at their full size. */
  sizes: Map<unknown, number>;
  expanded: number;
  nodes: number;
  maxAliasRatio: number;
}

function expandedSize(node: unknown, state: ConvertState, depth: number): number {
  if (isAlias(node)) return expandedSize(node.resolve(state.doc), state, depth + 1);
  if (!isMap(node) && !isSeq(node)) return 1;
  const known = state.sizes.get(node);
  if (known !== undefined) return known;
  if (depth > 200) return Number.POSITIVE_INFINITY;
  state.sizes.set(node, Number.POSITIVE_INFINITY); // cycles count as infinite
  let size = 1;
  for (const item of node.items as unknown[]) {
    if (isPair(item)) size += expandedSize(item.key, state, depth + 1) + expandedSize(item.value, state, depth + 1);
    else size += expandedSize(item, state, depth + 1);
    if (size === Number.POSITIVE_INFINITY) break;
  }
  state.sizes.set(node, size);
  return size;
}

/**
 * Manifests repeat the same short strings thousands of times ("TCP", "http",
 * label values, image names); sharing one copy of each keeps a large corpus
 * small. Bounded, so hostile input cannot grow it without limit.
 */
const INTERNED = new Map<string, string>();
function intern(value: string): string {
  const known = INTERNED.get(value);
  if (known !== undefined) return known;
  if (INTERNED.size < 50_000) INTERNED.set(value, value);
  return value;
}

function isMergeKey(key: unknown): boolean {
  // The YAML 1.1 schema resolves `<<` to a merge symbol.
  return (
    isScalar(key) && (key.value === '<<' || String(key.value) === 'Symbol(<<)' || key.tag === 'tag:yaml.org,2002:merge')
  );
}

function keyString(key: unknown, state: ConvertState, depth: number): string {
  if (isScalar(key)) return String(key.value);
  if (key === null || key === undefined) return '';
  return JSON.stringify(convert(key, state, depth + 1));
}

function convert(node: unknown, state: ConvertState, depth: number): unknown {
  if (node === null || node === undefined) return null;
  if (depth > 200) throw new AliasBombError('nesting too deep');
  if (isScalar(node)) {
    const value = node.value;
    if (typeof value === 'string') return value.length <= 48 ? intern(value) : value;
    // `!!binary` is read the way Kubernetes' decoder reads it: the decoded bytes as a string
    // (`value: !!binary aHVudGVyMg==` is the env value "hunter2", not a mapping).
    if (value instanceof Uint8Array) return BINARY_TEXT.decode(value);
    return value !== null && typeof value === 'object' ? node.toJS(state.doc) : value;
  }
  if (isAlias(node)) {
    const target = node.resolve(state.doc);
    state.expanded += expandedSize(target, state, 0);
    if (state.expanded > state.maxAliasRatio * Math.max(state.nodes, 10)) throw new AliasBombError('alias expansion');
    if (isMap(target) || isSeq(target)) {
      if (!state.converted.has(target)) return convert(target, state, depth + 1);
      return state.converted.get(target);
    }
    return convert(target, state, depth + 1);
  }
  state.nodes++;
  if (isMap(node)) {
    const out: Record<string, unknown> = {};
    state.converted.set(node, out);
    const entries: Array<[string, number, number, number, number]> = [];
    const merges: unknown[] = [];
    for (const pair of node.items) {
      if (!isPair(pair)) continue;
      if (isMergeKey(pair.key)) {
        merges.push(pair.value);
        continue;
      }
      const key = keyString(pair.key, state, depth);
      out[key] = convert(pair.value, state, depth + 1);
      const keyRange = rangeOf(pair.key);
      const valueRange = rangeOf(pair.value) ?? keyRange;
      entries.push([key, keyRange?.[0] ?? -1, keyRange?.[1] ?? -1, valueRange?.[0] ?? -1, valueRange?.[1] ?? -1]);
    }
    // YAML merge keys: keys written in the mapping win over merged ones.
    for (const merge of merges) {
      const sources = isSeq(merge) ? merge.items : [merge];
      for (const source of sources) {
        const merged = convert(source, state, depth + 1);
        if (merged !== null && typeof merged === 'object' && !Array.isArray(merged)) {
          for (const [k, v] of Object.entries(merged)) if (!(k in out)) out[k] = v;
        }
      }
    }
    const keys = Object.keys(out);
    const base = state.buffer.length;
    for (let i = 0; i < keys.length * WIDTH; i++) state.buffer.push(-1);
    OFFSETS.set(out, base);
    const index = keys.length > 16 ? new Map(keys.map((k, i) => [k, i])) : undefined;
    for (const [key, ks, ke, vs, ve] of entries) {
      const slot = index ? (index.get(key) ?? -1) : keys.indexOf(key);
      if (slot < 0) continue;
      const at = base + slot * WIDTH;
      state.buffer[at] = ks;
      state.buffer[at + 1] = ke;
      state.buffer[at + 2] = vs;
      state.buffer[at + 3] = ve;
    }
    return out;
  }
  if (isSeq(node)) {
    const out: unknown[] = [];
    state.converted.set(node, out);
    const ranges: Array<[number, number] | undefined> = [];
    for (const item of node.items) {
      out.push(convert(item, state, depth + 1));
      ranges.push(rangeOf(item));
    }
    const base = state.buffer.length;
    OFFSETS.set(out, base);
    for (const range of ranges) {
      state.buffer.push(range?.[0] ?? -1, range?.[1] ?? -1, range?.[0] ?? -1, range?.[1] ?? -1);
    }
    return out;
  }
  return (node as { toJS?: (doc: Document) => unknown }).toJS?.(state.doc) ?? null;
}

/**
 * Registers a container whose offsets come from elsewhere (the quick path's
 * syntax tree): `entries` holds keyStart, keyEnd, valueStart, valueEnd per
 * entry, `keys` each entry's key for mappings (plain objects order
 * integer-like keys first, so slots follow Object.keys, not source order).
 */
export function indexContainer(
  container: object,
  keys: readonly string[] | undefined,
  entries: readonly number[],
  buffer: number[],
): void {
  const base = buffer.length;
  OFFSETS.set(container, base);
  if (!keys) {
    for (const n of entries) buffer.push(n);
    return;
  }
  const order = Object.keys(container);
  for (let i = 0; i < order.length * WIDTH; i++) buffer.push(-1);
  keys.forEach((key, i) => {
    const slot = order[i] === key ? i : order.indexOf(key);
    if (slot < 0) return;
    for (let j = 0; j < WIDTH; j++) buffer[base + slot * WIDTH + j] = entries[i * WIDTH + j]!;
  });
}

export interface EntryPosition {
  key?: [number, number];
  value?: [number, number];
}

/** Offsets of one entry of a mapping (by key) or list (by index), from the document's buffer. */
export function entryPosition(buffer: Int32Array, container: unknown, key: string | number): EntryPosition | undefined {
  if (container === null || typeof container !== 'object') return undefined;
  const base = OFFSETS.get(container);
  if (base === undefined) return undefined;
  const slot = Array.isArray(container)
    ? typeof key === 'number'
      ? key
      : -1
    : Object.keys(container).indexOf(String(key));
  if (slot < 0) return undefined;
  const at = base + slot * WIDTH;
  if (at + 3 >= buffer.length) return undefined;
  const out: EntryPosition = {};
  if (buffer[at]! >= 0) out.key = [buffer[at]!, buffer[at + 1]!];
  if (buffer[at + 2]! >= 0) out.value = [buffer[at + 2]!, buffer[at + 3]!];
  return out;
}
