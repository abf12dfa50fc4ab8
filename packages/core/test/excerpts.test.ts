import { describe, expect, it } from '@jest/globals';
import {
  REDACTED,
  excerptAround,
  excerptFiles,
  extractExcerpts,
  redactSourceLines,
  sourceExcerptsSchema,
  type ExcerptLimits,
} from '@labgrader/core';

const at = (file: string, line: number) => ({ location: { file, line, column: 1 } });
const numbered = (n: number) => Array.from({ length: n }, (_, i) => `line ${i + 1}`).join('\n') + '\n';

describe('extractExcerpts', () => {
  it('keeps ±3 lines around each finding, merging windows that touch, in file order', () => {
    const files = new Map([
      ['k8s/b.yaml', numbered(40)],
      ['a.md', numbered(5)],
    ]);
    const result = extractExcerpts(
      [at('k8s/b.yaml', 10), at('k8s/b.yaml', 14), at('k8s/b.yaml', 30), at('a.md', 1)],
      files,
    );
    expect(sourceExcerptsSchema.parse(result)).toEqual(result);
    expect(result.excerpts.map((e) => [e.file, e.startLine, e.lines.length])).toEqual([
      ['a.md', 1, 4],
      ['k8s/b.yaml', 7, 11], // 10 and 14 share one window: 7..17
      ['k8s/b.yaml', 27, 7],
    ]);
    expect(result.excerpts[1]!.lines[0]).toBe('line 7');
    expect(result.omitted).toBe(0);
  });

  it('caps excerpts per file and lines per report, and counts what it left out', () => {
    const limits: ExcerptLimits = { context: 1, maxExcerptsPerFile: 2, maxLinesPerReport: 8, maxLineLength: 10 };
    const files = new Map([
      ['a.yaml', numbered(100)],
      ['b.yaml', `${'x'.repeat(50)}\n${numbered(20)}`],
    ]);
    const findings = [at('a.yaml', 10), at('a.yaml', 20), at('a.yaml', 30), at('b.yaml', 1), at('b.yaml', 10)];
    const result = extractExcerpts(findings, files, limits);
    // a.yaml: two windows of 3 lines (the third is over the per-file cap); b.yaml: one of 2 lines, then the budget is spent.
    expect(result.excerpts.map((e) => [e.file, e.startLine])).toEqual([
      ['a.yaml', 9],
      ['a.yaml', 19],
      ['b.yaml', 1],
    ]);
    expect(result.excerpts.reduce((n, e) => n + e.lines.length, 0)).toBeLessThanOrEqual(8);
    expect(result.excerpts[2]!.lines[0]).toBe('xxxxxxxxx…');
    expect(result.omitted).toBe(2);
  });

  it('gives no excerpt for a file it was not given or a line past its end', () => {
    const result = extractExcerpts([at('gone.yaml', 3), at('short.yaml', 99), {}], new Map([['short.yaml', 'a\nb\n']]));
    expect(result).toEqual({ version: 1, excerpts: [], omitted: 2 });
  });

  it('names the files to read: those with a located finding', () => {
    expect(excerptFiles([at('b', 1), at('a', 2), at('b', 3), {}])).toEqual(['a', 'b']);
  });

  it('finds the lines around a line for display (and nothing for old gradings)', () => {
    const result = extractExcerpts([at('f.yaml', 10)], new Map([['f.yaml', numbered(20)]]));
    expect(excerptAround(result, 'f.yaml', 10)?.map((l) => l.number)).toEqual([7, 8, 9, 10, 11, 12, 13]);
    expect(excerptAround(result, 'f.yaml', 10)?.[3]).toEqual({ number: 10, text: 'line 10' });
    expect(excerptAround(result, 'f.yaml', 2)).toBeUndefined();
    expect(excerptAround(undefined, 'f.yaml', 10)).toBeUndefined();
  });
});

describe('redactSourceLines: no secret is ever kept', () => {
  it("replaces every value of a Secret's data and stringData, block scalars included", () => {
    const text = [
      'apiVersion: v1',
      'kind: Secret',
      'metadata:',
      '  name: db',
      'type: Opaque',
      'data:',
      '  username: YWRtaW4=',
      '  password: c2VjcmV0LXZhbHVl',
      'stringData:',
      '  config.yaml: |',
      '    user: admin',
      '    pass: hunter2',
      '  url: "postgres://app:hunter2@db:5432/app"',
      '---',
      'apiVersion: v1',
      'kind: ConfigMap',
      'data:',
      '  GREETING: hello',
    ].join('\n');
    const out = redactSourceLines(text);
    expect(out.join('\n')).not.toMatch(/YWRtaW4|c2VjcmV0|hunter2|admin/);
    expect(out[3]).toBe('  name: db');
    expect(out[6]).toBe(`  username: ${REDACTED}`);
    expect(out[9]).toBe(`  config.yaml: ${REDACTED}`);
    expect(out[10]).toBe(`    ${REDACTED}`);
    // A ConfigMap's harmless data stays.
    expect(out[17]).toBe('  GREETING: hello');
  });

  it('finds the Secret whatever the key order, in a List, in flow style and in JSON', () => {
    const list = [
      'apiVersion: v1',
      'kind: List',
      'items:',
      '  - apiVersion: v1',
      '    data:',
      '      token: dG9rZW4tdmFsdWU=',
      '    kind: Secret',
      '    metadata: { name: t }',
      '  - kind: Secret',
      '    stringData: { key: plain-text-value }',
    ].join('\n');
    const out = redactSourceLines(list).join('\n');
    expect(out).not.toMatch(/dG9rZW4|plain-text-value/);
    expect(out).toContain('metadata: { name: t }');
    const json = ['{', '  "kind": "Secret",', '  "data": {', '    "k": "c2VjcmV0"', '  }', '}'].join('\n');
    expect(redactSourceLines(json).join('\n')).not.toContain('c2VjcmV0');
    const oneLine = '{"apiVersion":"v1","kind":"Secret","data":{"k":"c2VjcmV0"}}';
    expect(redactSourceLines(oneLine).join('\n')).not.toContain('c2VjcmV0');
  });

  it('redacts credential-named keys and env values, keeps references and harmless values', () => {
    const text = [
      'env:',
      '  - name: DB_PASSWORD',
      '    value: "literal-password-1"',
      '  - value: literal-token-2',
      '    name: API_TOKEN',
      '  - name: GREETING',
      '    value: hello',
      '  - name: DB_PASS',
      '    valueFrom:',
      '      secretKeyRef:',
      '        name: db-credentials',
      '        key: password',
      'password: literal-3',
      'clientSecret: literal-4',
      'secretName: tls-cert',
      'automountServiceAccountToken: false',
    ].join('\n');
    const out = redactSourceLines(text);
    expect(out.join('\n')).not.toMatch(/literal-/);
    expect(out[2]).toBe(`    value: ${REDACTED}`);
    expect(out[6]).toBe('    value: hello');
    expect(out.slice(9, 12)).toEqual(['      secretKeyRef:', '        name: db-credentials', '        key: password']);
    expect(out[14]).toBe('secretName: tls-cert');
    expect(out[15]).toBe('automountServiceAccountToken: false');
  });

  it('redacts anything that looks like a token, in YAML and Markdown alike', () => {
    const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJzdHVkZW50In0.c2lnbmF0dXJlLXNpZ25hdHVyZQ';
    const text = [
      `Run it with GITHUB_TOKEN=ghp_${'a1B2'.repeat(9)} and DB_PASSWORD=hunter2.`,
      `curl -H "Authorization: Bearer ${'Zx9'.repeat(8)}" https://user:pa55@example.com/`,
      `jwt: ${jwt}`,
      'aws: AKIAIOSFODNN7EXAMPLE',
      `random: ${'aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dE3fG5hJ7k'}`,
      'digest: sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
      '-----BEGIN RSA PRIVATE KEY-----',
      'MIIEowIBAAKCAQEA',
      '-----END RSA PRIVATE KEY-----',
    ].join('\n');
    const out = redactSourceLines(text).join('\n');
    for (const secret of ['a1B2a1B2', 'hunter2', 'Zx9Zx9', 'pa55', jwt, 'AKIAIOSFODNN7EXAMPLE', 'aB3dE5', 'MIIEow'])
      expect(out).not.toContain(secret);
    // A hex digest is not a token.
    expect(out).toContain('sha256:0123456789abcdef');
  });

  it('keeps the redacted lines in the excerpts (the finding points into a Secret)', () => {
    const file = [
      'apiVersion: v1',
      'kind: Secret',
      'metadata:',
      '  name: db',
      'stringData:',
      '  password: hunter2',
    ].join('\n');
    const result = extractExcerpts([at('k8s/secret.yaml', 6)], new Map([['k8s/secret.yaml', file]]));
    expect(JSON.stringify(result)).not.toContain('hunter2');
    expect(result.excerpts[0]!.lines).toContain(`  password: ${REDACTED}`);
  });
});
