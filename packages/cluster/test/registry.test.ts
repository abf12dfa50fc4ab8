import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { catalogOf } from '@labgrader/core';
import { DRILL_SET, DRILLS } from '../src/drills/index.js';
import {
  CLUSTER_CHECKS,
  clusterRegistry,
  clusterSettingsSchema,
  clusterStage,
  resolveClusterConfig,
  withTarget,
} from '../src/index.js';

const CHECKS_DIR = fileURLToPath(new URL('../src/checks/', import.meta.url));
const HELPERS = new Set(['index.ts', 'shared.ts']);

describe('cluster registry', () => {
  it('lists exactly one check per module in src/checks, named after its file', async () => {
    const files = readdirSync(CHECKS_DIR)
      .filter((f) => f.endsWith('.ts') && !HELPERS.has(f))
      .sort();
    const fromFiles: string[] = [];
    for (const file of files) {
      const mod = (await import(`../src/checks/${file.replace(/\.ts$/, '.js')}`)) as Record<string, unknown>;
      const checks = Object.values(mod).filter(
        (v): v is { id: string; check: unknown } => typeof v === 'object' && v !== null && 'id' in v && 'check' in v,
      );
      expect(checks.map((c) => c.id)).toEqual([`cluster/${file.replace(/\.ts$/, '')}`]);
      fromFiles.push(checks[0]!.id);
    }
    expect([...clusterRegistry.ids()].sort()).toEqual(fromFiles.sort());
    expect(CLUSTER_CHECKS.length).toBe(files.length);
    expect(clusterStage.registry).toBe(clusterRegistry);
    expect(clusterStage.name).toBe('cluster');
    expect(clusterStage.abortGraceMs).toBeGreaterThanOrEqual(60_000);
  });

  it.each(CLUSTER_CHECKS.map((c) => [c.id, c] as const))(
    '%s has complete metadata and options that default from {} and reject typos',
    (_id, check) => {
      expect(check.stage).toBe('cluster');
      expect(check.title.length).toBeGreaterThan(10);
      expect(check.rationale.length).toBeGreaterThan(60);
      expect(check.fixHint).toMatch(/```(yaml|sh)\n[\s\S]+\n```$/);
      expect(check.docsUrl).toMatch(/^https:\/\/kubernetes\.io\/docs\//);
      expect(() => check.options.parse({})).not.toThrow();
      expect(() => check.options.parse({ notAnOption: true })).toThrow();
      expect(z.toJSONSchema(check.options, { io: 'input', unrepresentable: 'any' })).toHaveProperty('type', 'object');
    },
  );

  it('validates recovery-time bands: ordered, credits in [0, 1], never more credit for slower', () => {
    const options = clusterRegistry.get('cluster/pod-kill-recovery')!.options;
    expect(options.parse({})).toEqual({
      bands: [
        { maxSeconds: 30, credit: 1 },
        { maxSeconds: 90, credit: 0.5 },
      ],
    });
    expect(() => options.parse({ bands: [] })).toThrow(/at least one band/);
    expect(() =>
      options.parse({
        bands: [
          { maxSeconds: 60, credit: 1 },
          { maxSeconds: 30, credit: 0.5 },
        ],
      }),
    ).toThrow(/ordered by maxSeconds/);
    expect(() =>
      options.parse({
        bands: [
          { maxSeconds: 30, credit: 0.5 },
          { maxSeconds: 60, credit: 1 },
        ],
      }),
    ).toThrow(/slower band cannot give more credit/);
    expect(() => options.parse({ bands: [{ maxSeconds: 30, credit: 1.5 }] })).toThrow();
    expect(() => options.parse({ bands: [{ maxSecs: 30, credit: 1 }] })).toThrow();
    expect(() => catalogOf(clusterRegistry)).not.toThrow();
  });
});

const DRILLS_DIR = fileURLToPath(new URL('../src/drills/', import.meta.url));

describe('drill registry', () => {
  it('lists exactly one drill per folder of src/drills, named after it, keyed by its settings key', async () => {
    const folders = readdirSync(DRILLS_DIR, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();
    const found: string[] = [];
    for (const folder of folders) {
      const mod = (await import(`../src/drills/${folder}/index.js`)) as Record<string, unknown>;
      const drills = Object.values(mod).filter(
        (v): v is { id: string; run: unknown } => typeof v === 'object' && v !== null && 'id' in v && 'run' in v,
      );
      expect(drills.map((d) => d.id)).toEqual([folder]);
      found.push(folder);
    }
    expect(DRILLS.map((d) => d.id).sort()).toEqual(found);
    for (const [key, drill] of Object.entries(DRILL_SET)) expect(drill.settingsKey).toBe(key);
  });

  it.each(DRILLS.map((d) => [d.id, d] as const))(
    '%s: describes itself, is graded by registered checks, and its settings default from {} and reject typos',
    (_id, drill) => {
      expect(drill.description.length).toBeGreaterThan(60);
      expect(drill.gradedBy.length).toBeGreaterThan(0);
      for (const id of drill.gradedBy) expect(clusterRegistry.ids()).toContain(id);
      const settings = drill.settings.parse({}) as { run: string; timeoutSeconds: number };
      expect(settings.run).toBe('auto');
      expect(settings.timeoutSeconds).toBeGreaterThan(0);
      expect(() => drill.settings.parse({ notASetting: 1 })).toThrow();
    },
  );
});

describe('cluster settings', () => {
  it('default from {} to an ephemeral kind cluster', () => {
    const s = clusterSettingsSchema.parse({});
    expect(s.target).toEqual({
      type: 'kind',
      clusterNamePrefix: 'labgrader',
      workers: 0,
      createTimeoutSeconds: 300,
      keepOnFailure: false,
    });
    expect(s.readyTimeoutSeconds).toBe(180);
    expect(s.secrets).toEqual({ synthesize: true, exclude: [] });
    // Images missing locally are built from the repository's Dockerfile, offline, within a budget (images.ts).
    expect(s.images).toEqual({
      loadLocal: true,
      buildMissing: true,
      build: [],
      buildNetwork: 'none',
      buildTimeoutSeconds: 180,
      maxImageSizeMiB: 1024,
    });
    expect(s.drills.badRollout.image).toBe('127.0.0.1:9/labgrader/bad-rollout:does-not-exist');
    // `scenarios` is the former name of `drills`: still accepted, and it wins when given.
    const old = clusterSettingsSchema.parse({ scenarios: { podKill: { timeoutSeconds: 60 } } });
    expect(resolveClusterConfig(old, {}).drills.podKill.timeoutSeconds).toBe(60);
    expect(z.toJSONSchema(clusterSettingsSchema, { io: 'input', unrepresentable: 'any' })).toHaveProperty(
      'type',
      'object',
    );
  });

  it('accept an existing cluster, and reject typos and impossible values', () => {
    const s = clusterSettingsSchema.parse({ target: { type: 'existing', context: 'staging' } });
    expect(s.target).toEqual({
      type: 'existing',
      context: 'staging',
      namespacePrefix: 'lg',
      nodeAccess: 'none',
      keepOnFailure: false,
    });
    expect(() => clusterSettingsSchema.parse({ target: { type: 'minikube' } })).toThrow();
    expect(() => clusterSettingsSchema.parse({ target: { type: 'kind', nodeimage: 'x' } })).toThrow();
    expect(() => clusterSettingsSchema.parse({ target: { type: 'kind', clusterNamePrefix: 'Bad_Name' } })).toThrow();
    expect(() => clusterSettingsSchema.parse({ readyTimeoutSeconds: 0 })).toThrow();
    expect(() => clusterSettingsSchema.parse({ probe: { path: 'healthz' } })).toThrow();
    expect(() => clusterSettingsSchema.parse({ scenarios: { podkill: {} } })).toThrow();
    expect(() => clusterSettingsSchema.parse({ drills: { podkill: {} } })).toThrow();
    expect(() => clusterSettingsSchema.parse({ target: { type: 'kind', workers: 9 } })).toThrow();
  });

  it('take machine facts from the environment, which wins over the rubric', () => {
    const settings = clusterSettingsSchema.parse({
      target: { type: 'kind', nodeImage: 'kindest/node:v1.33.0', binary: '/usr/bin/kind' },
      kubectl: 'kubectl-1.33',
    });
    expect(resolveClusterConfig(settings, {})).toMatchObject({
      kubectl: 'kubectl-1.33',
      docker: 'docker',
      target: { binary: '/usr/bin/kind', nodeImage: 'kindest/node:v1.33.0', disableDefaultCNI: false },
    });
    expect(
      resolveClusterConfig(settings, {
        LABGRADER_KIND: '/cache/kind',
        LABGRADER_KUBECTL: '/cache/kubectl',
        LABGRADER_DOCKER: 'podman',
        LABGRADER_KIND_NODE_IMAGE: 'labgrader/kind-node:v1.34.4',
        LABGRADER_KIND_DISABLE_DEFAULT_CNI: 'true',
        LABGRADER_KEEP_CLUSTER: '1',
      }),
    ).toMatchObject({
      kubectl: '/cache/kubectl',
      docker: 'podman',
      target: {
        binary: '/cache/kind',
        nodeImage: 'labgrader/kind-node:v1.34.4',
        disableDefaultCNI: true,
        keepOnFailure: true,
      },
    });
    const plain = resolveClusterConfig(clusterSettingsSchema.parse({}), {});
    expect(plain.target).not.toHaveProperty('nodeImage'); // kind picks its own default
    const existing = resolveClusterConfig(clusterSettingsSchema.parse({ target: { type: 'existing' } }), {
      KUBECONFIG: '/home/me/.kube/a:/home/me/.kube/b',
    });
    expect(existing.target).toMatchObject({ kubeconfigEnv: '/home/me/.kube/a:/home/me/.kube/b' });
  });

  it('switch target for --cluster kind and --kube-context, keeping the rest', () => {
    const rubric = clusterSettingsSchema.parse({
      readyTimeoutSeconds: 60,
      target: { type: 'kind', keepOnFailure: true },
    });
    const existing = withTarget(rubric, { type: 'existing', context: 'kind-test' });
    expect(existing.target).toMatchObject({ type: 'existing', context: 'kind-test', namespacePrefix: 'lg' });
    expect(existing.readyTimeoutSeconds).toBe(60);
    expect(withTarget(existing, { type: 'kind' }).target).toMatchObject({ type: 'kind', keepOnFailure: false });
    expect(withTarget(rubric, { type: 'kind' }).target).toMatchObject({ type: 'kind', keepOnFailure: true });
  });
});
