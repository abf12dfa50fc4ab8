/**
 * The quick path (js-yaml, positions on demand) must read every document
 * exactly as the `yaml` path does, and leave everything unusual to it.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { DEFAULT_PARSE_LIMITS, parseYamlFile, type ParsedDocument } from '../src/yaml/parse.js';
import { quickParse } from '../src/yaml/quick.js';
import { DocumentSource, SourceText } from '../src/yaml/source.js';

const here = path.dirname(fileURLToPath(import.meta.url));

function yamlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? yamlFiles(full) : /\.ya?ml$/.test(name) ? [full] : [];
  });
}

const values = (text: string, quick: boolean) => {
  const parsed = quick
    ? quickParse(text, DEFAULT_PARSE_LIMITS)
    : parseYamlFile(text, DEFAULT_PARSE_LIMITS, { quick: false });
  return parsed?.documents.map((d) => d.value).filter((v) => v !== null);
};

const corpus = [...yamlFiles(path.join(here, 'fixtures')), ...yamlFiles(path.join(here, '..', '..', '..', 'examples'))];

describe('quick YAML path', () => {
  it('is taken for ordinary manifests', () => {
    const taken = corpus.filter((f) => quickParse(readFileSync(f, 'utf8'), DEFAULT_PARSE_LIMITS) !== undefined);
    expect(taken.length).toBeGreaterThan(corpus.length * 0.8);
  });

  it.each(corpus.map((f) => [path.relative(here, f), f]))('reads %s as the yaml path does', (_name, file) => {
    const text = readFileSync(file, 'utf8');
    const quick = values(text, true);
    if (quick === undefined) {
      expect(quickParse(text, DEFAULT_PARSE_LIMITS)).toBeUndefined();
      return;
    }
    expect(quick).toEqual(values(text, false));
  });

  it.each(corpus.map((f) => [path.relative(here, f), f]))(
    'places every entry of %s as the yaml path does',
    (_name, file) => {
      const text = readFileSync(file, 'utf8');
      const quick = quickParse(text, DEFAULT_PARSE_LIMITS);
      if (!quick) return; // the yaml path alone: nothing to compare
      const slow = parseYamlFile(text, DEFAULT_PARSE_LIMITS, { quick: false }).documents.filter(
        (d) => d.value !== null,
      );
      const source = new SourceText('f.yaml', text);
      const places = (doc: ParsedDocument, withPositions: boolean) => {
        const ds = new DocumentSource(
          source,
          doc.start,
          doc.end,
          doc.contentStart,
          doc.value,
          withPositions ? doc.positions : undefined,
        );
        const out: string[] = [`start ${ds.startLocation().line}:${ds.startLocation().column}`];
        const visit = (value: unknown, at: (string | number)[]) => {
          if (value === null || typeof value !== 'object') return;
          for (const key of Array.isArray(value) ? value.map((_, i) => i) : Object.keys(value)) {
            const child = (value as Record<string, unknown>)[key];
            const hit = ds.walk([...at, key]);
            const k = ds.locationOf(hit, 'key');
            const v = ds.locationOf(hit, 'value');
            // Empty values (`key:`) sit at slightly different offsets in the two parsers; their keys must agree.
            out.push(
              `${[...at, key].join('.')} key ${k.line}:${k.column}${child === null ? '' : ` value ${v.line}:${v.column}`}`,
            );
            visit(child, [...at, key]);
          }
        };
        visit(doc.value, []);
        return out;
      };
      expect(quick.documents.map((d) => places(d, false))).toEqual(slow.map((d) => places(d, true)));
    },
  );

  it('reads YAML 1.1 scalars and keys like the yaml path', () => {
    const text = [
      'a: yes',
      'b: Off',
      'c: 0644',
      'd: 2024-01-01',
      'e: ~',
      'f: "yes"',
      'g: 1e3',
      'h: 0x1F',
      'i: 1_000',
      'j: .inf',
      'k: 12:30',
      'l: ""',
      'm:',
      'yes: key',
      '1: one',
      'n: [1, "2", three, {x: null}]',
      'o: |',
      '  line one',
      '  line two',
      'p: >-',
      '  folded',
      '  text',
      'q: plain',
      '  continued',
      '',
    ].join('\n');
    expect(values(text, true)).toEqual(values(text, false));
    expect(values(text, true)?.[0]).toMatchObject({
      a: true,
      c: 420,
      d: '2024-01-01',
      h: 31,
      i: 1000,
      k: '12:30',
      m: null,
      true: 'key',
      1: 'one',
    });
  });

  it.each([
    ['anchors and aliases', 'a: &x 1\nb: *x\n'],
    ['merge keys', 'a: {c: 1}\nb:\n  <<: {c: 2}\n'],
    ['tags', 'a: !!str 1\n'],
    ['duplicate keys', 'a: 1\na: 2\n'],
    ['syntax errors', 'a: [1, 2\n'],
    ['directives', '%YAML 1.1\n---\na: 1\n'],
    ['content on the --- line', '--- {a: 1}\n'],
  ])('hands %s to the yaml path', (_name, text) => {
    expect(quickParse(text, DEFAULT_PARSE_LIMITS)).toBeUndefined();
  });

  it('splits documents at --- and ... lines and places content after comments', () => {
    const text = '# leading comment\napiVersion: v1\n---\n# between\n\nkind: A\n...\n---\nkind: B\n';
    const parsed = quickParse(text, DEFAULT_PARSE_LIMITS)!;
    expect(parsed.documents.map((d) => d.value)).toEqual([{ apiVersion: 'v1' }, { kind: 'A' }, { kind: 'B' }]);
    const source = new SourceText('f.yaml', text);
    expect(parsed.documents.map((d) => source.position(d.contentStart).line)).toEqual([2, 6, 9]);
  });

  it('computes positions on demand from the document slice', () => {
    const text = 'kind: A\n---\nkind: B\nspec:\n  replicas: 1\n';
    const doc = quickParse(text, DEFAULT_PARSE_LIMITS)!.documents[1]!;
    expect(doc.positions).toBeUndefined();
    const source = new DocumentSource(new SourceText('f.yaml', text), doc.start, doc.end, doc.contentStart, doc.value);
    expect(source.locationOf(source.walk(['spec', 'replicas']), 'value')).toMatchObject({ line: 5, column: 13 });
  });
});
