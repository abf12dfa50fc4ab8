/**
 * Hostile input never crashes or hangs the linter: each case becomes a
 * lint/yaml-valid finding. Large inputs are generated here, never committed.
 */
import { describe, expect, it } from '@jest/globals';
import { lines, lintFiles } from './helpers/lint.js';

const configMap = (name: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\ndata:\n  A: "1"\n`;

function messages(result: Awaited<ReturnType<typeof lintFiles>>, checkId = 'lint/yaml-valid'): string[] {
  return result.findings.filter((f) => f.checkId === checkId).map((f) => f.message);
}

describe('hostile input', () => {
  it('stops a billion-laughs alias bomb and still lints the other files', async () => {
    const bomb = [
      'apiVersion: v1',
      'kind: ConfigMap',
      'metadata:',
      '  name: lol',
      'data:',
      '  a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
    ];
    for (let i = 1; i < 12; i++)
      bomb.push(
        `  ${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9)
          .fill(`*${String.fromCharCode(96 + i)}`)
          .join(',')}]`,
      );
    const result = await lintFiles({ 'k8s/bomb.yaml': bomb.join('\n') + '\n', 'k8s/ok.yaml': configMap('ok') });
    expect(messages(result).join('\n')).toMatch(/aliases expand to more than 100 times/);
    expect(lines(result, 'lint/yaml-valid')).toEqual(['k8s/bomb.yaml:1']);
    expect(result.inventory.objects.map((o) => o.name)).toEqual(['ok']);
  });

  it('refuses deeply nested flow and block collections before the recursive parser sees them', async () => {
    const flow = `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: deep\n  labels: ${'['.repeat(200_000)}\n`;
    let block = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: deep2\n  annotations:\n';
    for (let depth = 0; depth < 300; depth++) block += `${'  '.repeat(depth + 2)}k${depth}:\n`;
    const result = await lintFiles({ 'k8s/flow.yaml': flow, 'k8s/block.yaml': block });
    expect(messages(result).filter((m) => /nest more than 100 levels/.test(m))).toHaveLength(2);
    expect(lines(result, 'lint/yaml-valid')).toEqual(['k8s/block.yaml:104', 'k8s/flow.yaml:5']);
  });

  it('skips a 50 MB file without reading it', async () => {
    const big = `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big\ndata:\n  blob: "${'x'.repeat(50 * 1024 * 1024)}"\n`;
    const result = await lintFiles({ 'k8s/big.yaml': big });
    expect(messages(result)).toEqual([
      'k8s/big.yaml is 50.0 MiB, over the 4.0 MiB limit for a manifest; it was not read (split it, or move generated files out of the repository)',
    ]);
    expect(result.notGradable).toBeUndefined();
  });

  it('reports binary and non-UTF-8 files named .yaml', async () => {
    const random = new Uint8Array(4096);
    for (let i = 0; i < random.length; i++) random[i] = (i * 7919 + 13) % 256;
    const latin1 = Buffer.from('apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: caf\xe9\n', 'latin1');
    const withNul = `apiVersion: v1\nkind: ConfigMap\n\u0000\u0001\u0002`;
    const result = await lintFiles({
      'k8s/random.yaml': random,
      'k8s/latin1.yaml': new Uint8Array(latin1),
      'k8s/nul.yaml': withNul,
    });
    expect(messages(result)).toEqual([
      'k8s/latin1.yaml is not UTF-8 text (a binary file or another encoding); Kubernetes cannot read it as a manifest',
      'k8s/nul.yaml contains NUL bytes: it is a binary file, not a YAML manifest',
      'k8s/random.yaml is not UTF-8 text (a binary file or another encoding); Kubernetes cannot read it as a manifest',
    ]);
  });

  it('reports duplicate keys at the repeated key and still lints the object', async () => {
    const text =
      'apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  selector:\n    app: web\n  selector:\n    app: api\n';
    const result = await lintFiles({ 'k8s/svc.yaml': text });
    const finding = result.findings.find((f) => f.checkId === 'lint/yaml-valid');
    expect(finding?.message).toMatch(/Map keys must be unique \(kubectl rejects duplicate fields; keep one\)/);
    expect(finding?.location).toMatchObject({ file: 'k8s/svc.yaml', line: 8, column: 3 });
    expect(result.inventory.objects.map((o) => o.name)).toEqual(['web']);
  });

  it('caps the number of documents per file', async () => {
    const many = Array.from({ length: 30 }, (_, i) => configMap(`cm${i}`)).join('---\n');
    const result = await lintFiles({ 'k8s/many.yaml': many }, { settings: { maxDocumentsPerFile: 10 } });
    expect(result.inventory.objects).toHaveLength(10);
    expect(messages(result)).toEqual(['k8s/many.yaml: the file has more than 10 documents; the rest were not read']);
  });

  it('reports syntax errors with their line and keeps the valid documents of the file', async () => {
    const text = `${configMap('first')}---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: "unterminated\n`;
    const result = await lintFiles({ 'k8s/app.yaml': text });
    expect(result.inventory.objects.map((o) => o.name)).toEqual(['first']);
    expect(lines(result, 'lint/yaml-valid').length).toBeGreaterThan(0);
    expect(lines(result, 'lint/yaml-valid').every((l) => Number(l.split(':')[1]) >= 8)).toBe(true);
  });
});

describe('YAML as Kubernetes reads it (1.1)', () => {
  it('treats yes/on as booleans and 0644 as octal, like the API server', async () => {
    const text = [
      'apiVersion: v1',
      'kind: Pod',
      'metadata:',
      '  name: p',
      'spec:',
      '  containers:',
      '    - name: c',
      '      image: busybox:1.36',
      '      env:',
      '        - name: ENABLED',
      '          value: on',
      '  volumes:',
      '    - name: cfg',
      '      configMap:',
      '        name: cfg',
      '        defaultMode: 0644',
      '',
    ].join('\n');
    const result = await lintFiles({ 'pod.yaml': text }, { checks: ['lint/schema-valid'] });
    expect(result.findings.map((f) => [f.location?.line, f.message])).toEqual([
      [11, 'spec.containers.0.env.0.value: expected a string, got the boolean true; quote it'],
    ]);
  });
});
