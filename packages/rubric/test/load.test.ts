import { describe, expect, it } from '@jest/globals';
import { ConfigError } from '@labgrader/core';
import { parseRubric } from '@labgrader/rubric';
import { env } from './helpers.js';

const valid = `apiVersion: labgrader.dev/v1
kind: Rubric
id: lab-1
title: Lab 1
stages:
  lint:
    timeoutSeconds: 30
    settings:
      kubernetesVersion: "1.34"
criteria:
  - id: notes
    title: Notes
    points: 10
    checks: [docs/notes-present]
  - id: availability
    title: Availability
    points: 20
    scoring: { mode: deduct, perFinding: 5 }
    checks:
      - lint/container-resources
      - id: lint/replicas
        weight: 2
        severity: warning
        options: { minReplicas: 3 }
`;

function problemsOf(text: string): string[] {
  try {
    parseRubric(text, 'rubric.yaml', env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return [...(err as ConfigError).problems];
  }
  throw new Error('expected the rubric to be rejected');
}

describe('parseRubric', () => {
  it('resolves a valid rubric with defaults', () => {
    const rubric = parseRubric(valid, 'rubric.yaml', env);
    expect(rubric.id).toBe('lab-1');
    expect(rubric.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(rubric.stages.lint).toEqual({ enabled: true, timeoutMs: 30_000, settings: { kubernetesVersion: '1.34' } });
    expect(rubric.stages.docs).toMatchObject({ enabled: true, timeoutMs: 60_000 });
    expect(rubric.stages.cluster.enabled).toBe(false);
    expect(rubric.criteria[0]).toMatchObject({
      id: 'notes',
      stage: 'docs',
      scoring: 'ratio',
      checks: [{ id: 'docs/notes-present', weight: 1, options: {} }],
    });
    expect(rubric.criteria[1]?.checks[1]).toEqual({
      id: 'lint/replicas',
      weight: 2,
      severity: 'warning',
      options: { minReplicas: 3 },
    });
  });

  it('names the line of a misspelt field and suggests the right one', () => {
    expect(problemsOf(valid.replace('    points: 20', '    pionts: 20'))).toEqual([
      "rubric.yaml:15:5: criteria[1]: missing required field 'points'",
      "rubric.yaml:17:5: criteria[1]: unknown field 'pionts'; did you mean 'points'?",
    ]);
  });

  it('rejects an unknown check id with a suggestion, at its line', () => {
    expect(problemsOf(valid.replace('- lint/container-resources', '- lint/container-resource'))).toEqual([
      "rubric.yaml:20:9: criteria[1].checks[0]: unknown check id 'lint/container-resource'; did you mean 'lint/container-resources'?",
    ]);
  });

  it("validates check options with the check's own schema", () => {
    expect(problemsOf(valid.replace('minReplicas: 3', 'minReplicas: 0'))).toEqual([
      'rubric.yaml:24:33: criteria[1].checks[1].options.minReplicas: Too small: expected number to be >=1',
    ]);
    expect(problemsOf(valid.replace('minReplicas: 3', 'minReplica: 3'))[0]).toMatch(
      /^rubric\.yaml:24:20: criteria\[1\]\.checks\[1\]\.options: unknown field 'minReplica'; did you mean 'minReplicas'\?$/,
    );
  });

  it("validates stage settings with the stage's schema", () => {
    expect(problemsOf(valid.replace('kubernetesVersion: "1.34"', 'kubernetesVerison: "1.34"'))).toEqual([
      "rubric.yaml:9:7: stages.lint.settings: unknown field 'kubernetesVerison'; did you mean 'kubernetesVersion'?",
    ]);
  });

  it('explains a bad scoring value', () => {
    expect(problemsOf(valid.replace('scoring: { mode: deduct, perFinding: 5 }', 'scoring: ratoi'))).toEqual([
      "rubric.yaml:18:14: criteria[1].scoring: expected one of 'ratio', 'all-or-nothing' or an object",
    ]);
  });

  it('reports YAML syntax errors with their position', () => {
    expect(problemsOf('apiVersion: labgrader.dev/v1\ncriteria: [\n')[0]).toMatch(/^rubric\.yaml:3:1: YAML syntax: /);
    expect(problemsOf('id: a\nid: b\n')[0]).toMatch(/^rubric\.yaml:2:1: YAML syntax: Map keys must be unique/);
  });

  it('rejects criteria that mix stages, duplicate ids and stages this build cannot run', () => {
    const mixed = valid.replace('checks: [docs/notes-present]', 'checks: [docs/notes-present, lint/replicas]');
    expect(problemsOf(mixed)).toEqual([
      "rubric.yaml:14:13: criteria[0].checks: criterion 'notes' mixes checks of the docs and lint stages; split it into one criterion per stage",
    ]);
    expect(problemsOf(valid.replace('id: availability', 'id: notes'))).toEqual([
      "rubric.yaml:15:9: criteria[1].id: duplicate criterion id 'notes'",
    ]);
    expect(problemsOf(valid.replace('stages:\n', 'stages:\n  cluster: { enabled: true }\n'))).toEqual([
      'rubric.yaml:6:12: stages.cluster: the cluster stage is not available in this version of labgrader',
    ]);
  });

  it('collects every problem in one pass', () => {
    const text = valid.replace('kind: Rubric', 'kind: Rubrik').replace('id: lab-1', 'id: Lab 1');
    expect(problemsOf(text)).toEqual([
      "rubric.yaml:2:7: kind: expected 'Rubric'",
      'rubric.yaml:3:5: id: must be kebab-case, e.g. lab-85',
    ]);
  });
});

describe('parseRubric: what a criterion requires', () => {
  const withRequires = (block: string) =>
    valid.replace('    checks: [docs/notes-present]\n', `${block}    checks: [docs/notes-present]\n`);

  it('defaults docs and lint criteria to "something was examined", with a message naming the checks', () => {
    const rubric = parseRubric(valid, 'rubric.yaml', env);
    expect(rubric.criteria[0]?.requirement).toEqual({
      mode: 'examined',
      message: 'nothing to grade for "Notes": none of its checks (notes) found anything in the submission to apply to',
    });
  });

  it('reads optional, requires.message and requires.anyOf', () => {
    expect(parseRubric(withRequires('    optional: true\n'), 'rubric.yaml', env).criteria[0]?.requirement).toEqual({
      mode: 'optional',
    });
    expect(
      parseRubric(withRequires('    requires: { message: "no notes: Lab 1 asks for them" }\n'), 'rubric.yaml', env)
        .criteria[0]?.requirement,
    ).toEqual({ mode: 'examined', message: 'no notes: Lab 1 asks for them' });
    expect(
      parseRubric(
        withRequires('    requires:\n      anyOf: [{ kind: Secret, referenced: true }, { kind: Ingress }]\n'),
        'rubric.yaml',
        env,
      ).criteria[0]?.requirement,
    ).toEqual({
      mode: 'objects',
      anyOf: [
        { kind: 'Secret', referenced: true },
        { kind: 'Ingress', referenced: false },
      ],
      message:
        'nothing to grade for "Notes": it needs a workload that refers to a Secret or an Ingress in the manifests, and there is none',
    });
  });

  it('reports mistakes at their line, with suggestions', () => {
    expect(problemsOf(withRequires('    requires: { mesage: "x" }\n'))).toEqual([
      "rubric.yaml:14:17: criteria[0].requires: unknown field 'mesage'; did you mean 'message'?",
    ]);
    expect(problemsOf(withRequires('    requires:\n      anyOf: [{ kind: deployment }]\n'))).toEqual([
      "rubric.yaml:15:23: criteria[0].requires.anyOf[0].kind: must be a Kubernetes kind as manifests write it, e.g. Deployment; did you mean 'Deployment'?",
    ]);
    expect(problemsOf(withRequires('    requires:\n      anyOf: [{ kind: Secret, refrenced: true }]\n'))).toEqual([
      "rubric.yaml:15:31: criteria[0].requires.anyOf[0]: unknown field 'refrenced'; did you mean 'referenced'?",
    ]);
    expect(problemsOf(withRequires('    requires: { anyOf: [] }\n'))).toEqual([
      'rubric.yaml:14:24: criteria[0].requires.anyOf: list at least one object, e.g. { kind: Deployment }',
    ]);
    expect(problemsOf(withRequires('    optional: true\n    requires: { message: "x" }\n'))).toEqual([
      "rubric.yaml:15:5: criteria[0]: criterion 'notes' is optional, so it requires nothing; remove 'optional' or 'requires'",
    ]);
  });

  it('refuses requires.anyOf in a rubric that does not read the manifests', () => {
    const docsOnly = `apiVersion: labgrader.dev/v1
kind: Rubric
id: notes-only
title: Notes only
criteria:
  - id: notes
    title: Notes
    points: 10
    requires:
      anyOf: [{ kind: Deployment }]
    checks: [docs/notes-present]
`;
    expect(problemsOf(docsOnly)).toEqual([
      "rubric.yaml:10:7: criteria[0].requires: requires.anyOf looks for objects in the manifests, which the lint stage reads, and this rubric does not run it; use a lint check in some criterion or set 'stages.lint.enabled: true'",
    ]);
    expect(
      parseRubric(docsOnly.replace('criteria:\n', 'stages:\n  lint: { enabled: true }\ncriteria:\n'), 'r.yaml', env)
        .criteria[0]?.requirement.mode,
    ).toBe('objects');
  });
});
