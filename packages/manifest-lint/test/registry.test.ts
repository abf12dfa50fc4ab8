import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import {
  configureChecks,
  LINT_RULES,
  lintRegistry,
  lintRuleMetadata,
  lintSettingsSchema,
  lintStage,
} from '../src/index.js';

const rulesDir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'src', 'rules');

describe('rule registry', () => {
  it('lists exactly the rule modules in src/rules, each with id lint/<file name>', () => {
    const files = readdirSync(rulesDir)
      .filter((f) => f.endsWith('.ts') && f !== 'index.ts')
      .map((f) => `lint/${f.slice(0, -3)}`)
      .sort();
    expect(LINT_RULES.map((r) => r.id).sort()).toEqual(files);
    expect(lintRegistry.ids().sort()).toEqual(files);
    expect(lintStage.registry).toBe(lintRegistry);
  });

  it.each(LINT_RULES.map((r) => [r.id, r] as const))(
    '%s has complete metadata and options that default from {}',
    (_id, rule) => {
      expect(rule.stage).toBe('lint');
      expect(rule.title.length).toBeGreaterThan(10);
      expect(rule.rationale.length).toBeGreaterThan(60);
      expect(rule.fixHint).toMatch(/```yaml\n[\s\S]+\n```$/);
      expect(rule.docsUrl).toMatch(/^https:\/\/kubernetes\.io\/docs\//);
      expect(['error', 'warning', 'info']).toContain(rule.severity);
      expect(() => rule.options.parse({})).not.toThrow();
      expect(() => rule.options.parse({ notAnOption: true })).toThrow();
    },
  );

  it('exports metadata with default options for SARIF and docs', () => {
    const meta = lintRuleMetadata();
    expect(meta).toHaveLength(LINT_RULES.length);
    expect(meta.find((m) => m.id === 'lint/replicas')?.defaultOptions).toEqual({
      minReplicas: 2,
      allowStatefulSingletons: true,
    });
    expect(meta.every((m) => !('check' in m))).toBe(true);
  });

  it('configures checks the way rubrics write them', () => {
    const configured = configureChecks([
      'lint/container-resources',
      { id: 'lint/replicas', options: { minReplicas: 3 }, severity: 'error' },
    ]);
    expect(configured).toEqual([
      {
        id: 'lint/container-resources',
        options: { requests: ['cpu', 'memory'], limits: ['cpu', 'memory'], includeInitContainers: true },
      },
      { id: 'lint/replicas', options: { minReplicas: 3, allowStatefulSingletons: true }, severity: 'error' },
    ]);
    expect(() => configureChecks(['lint/no-such-rule'])).toThrow(/unknown lint check/);
    expect(() => configureChecks([{ id: 'lint/replicas', options: { minReplicas: 0 } }])).toThrow();
  });
});

describe('lint settings', () => {
  it('default from {} and accept the rubric shape', () => {
    const defaults = lintSettingsSchema.parse({});
    expect(defaults.kubernetesVersion).toBe('1.33');
    expect(defaults.nodeSize).toEqual({ cpu: '2', memory: '4Gi' });
    expect(defaults.exclude).toContain('.github/**');
    const rubric = lintSettingsSchema.parse({ kubernetesVersion: '1.33', nodeSize: { cpu: '2', memory: '4Gi' } });
    expect(rubric.nodeSize.memory).toBe('4Gi');
    // A YAML rubric may write the version as a number, or with a v and a patch.
    expect(lintSettingsSchema.parse({ kubernetesVersion: 1.33 }).kubernetesVersion).toBe('1.33');
    expect(lintSettingsSchema.parse({ kubernetesVersion: 'v1.33.5' }).kubernetesVersion).toBe('1.33');
    expect(lintSettingsSchema.parse({ nodeSize: { cpu: 4 } }).nodeSize).toEqual({ cpu: '4', memory: '4Gi' });
  });

  it('reject what cannot work', () => {
    expect(() => lintSettingsSchema.parse({ kubernetesVersion: '1.20' })).toThrow(
      /supported Kubernetes versions: 1\.33/,
    );
    expect(() => lintSettingsSchema.parse({ nodeSize: { memory: '4GB' } })).toThrow(/quantity/);
    expect(() => lintSettingsSchema.parse({ nodeSize: { cpus: 2 } })).toThrow();
    expect(() => lintSettingsSchema.parse({ maxFileBytes: -1 })).toThrow();
    expect(() => lintSettingsSchema.parse({ includes: ['*.yaml'] })).toThrow();
  });
});
