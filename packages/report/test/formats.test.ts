import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import Ajv2020 from 'ajv/dist/2020.js';
import AjvDraft04 from 'ajv-draft-04';
import addFormats from 'ajv-formats';
import { reportJsonSchema, reportSchema, type CheckMeta } from '@labgrader/core';
import { formatMarkdown, formatSarif, formatText, renderReport } from '@labgrader/report';
import { sampleReport } from './sample-report.js';

const require = createRequire(import.meta.url);
const root = new URL('../../../', import.meta.url);

const rules: CheckMeta[] = [
  {
    id: 'lint/container-resources',
    stage: 'lint',
    title: 'Containers set requests and limits',
    rationale: 'Unbounded pods starve neighbours.',
    severity: 'error',
    fixHint: 'Set resources.',
    docsUrl: 'https://kubernetes.io/x',
  },
];

describe('text format', () => {
  const text = formatText(sampleReport());

  it('shows the score, every criterion with points, and skipped criteria as not graded', () => {
    expect(text).toContain('Score  17.5 / 30  (58.3%)');
    expect(text).toContain("10 of the rubric's 40 points were not graded");
    expect(text).toMatch(/◐ Resource limits +7\.5 \/ 10/);
    expect(text).toMatch(/✘ Secrets +0 \/ 10/);
    expect(text).toMatch(/– Failure drill +— \/ 10/);
  });

  it('lists findings with file:line:column and the fix hint once per check', () => {
    expect(text).toContain(
      'k8s/deploy ment.yaml:42:11  error    Container sidecar in Deployment lab85/web sets no memory limit  [lint/container-resources]',
    );
    expect(text).toContain('Findings (1 error, 1 warning, 1 info)');
    expect(text.match(/How to fix/g)).toHaveLength(1);
    expect(text).toContain('    ```yaml\n    resources:');
  });

  it('shows one-line evidence and leaves multi-line logs to the JSON report', () => {
    const out = formatText(
      sampleReport({
        evidence: [
          { checkId: 'cluster/pod-kill-recovery', label: 'recovery-time', detail: '1.3 s (pod-kill)' },
          { checkId: 'cluster/pod-kill-recovery', label: 'commands', detail: 'kubectl get pods\nkubectl delete pod x' },
        ],
      }),
    );
    expect(out).toContain('Evidence\n  cluster/pod-kill-recovery recovery-time: 1.3 s (pod-kill)\n');
    expect(out).not.toContain('kubectl delete pod x');
    expect(formatMarkdown(sampleReport())).toContain('- `docs/diagram-embedded` diagram: docs/arch.svg \\(SVG\\)');
  });

  it('uses ANSI colours only when asked', () => {
    expect(text).not.toContain('\u001b[');
    expect(formatText(sampleReport(), { color: true })).toContain('\u001b[');
  });

  it('explains a not-gradable report instead of showing a score', () => {
    const out = formatText(
      sampleReport({
        status: 'not-gradable',
        notGradable: { reason: 'no-manifests', message: 'no Kubernetes manifests found', hint: 'Add them under k8s/.' },
      }),
    );
    expect(out).toContain('NOT GRADABLE  no Kubernetes manifests found');
    expect(out).toContain('→ Add them under k8s/.');
    expect(out).not.toContain('Score');
  });
});

describe('markdown format', () => {
  it('renders a criteria table with escaped cells and links findings to the exact line', () => {
    const md = formatMarkdown(sampleReport(), { blobUrl: 'https://github.com/student/lab-85/blob/0123456' });
    expect(md).toContain('## labgrader: Lab 85 \\| Production');
    expect(md).toContain('| Resource limits | 7.5 / 10 | 🟡 partial | lint/container-resources: 3/4 pass |');
    expect(md).toContain(
      '[`k8s/deploy ment.yaml:42`](https://github.com/student/lab-85/blob/0123456/k8s/deploy%20ment.yaml#L42)',
    );
    expect(md).toContain('env DB\\_PASSWORD has a literal value');
  });

  it('lists the findings no criterion owns (a stage’s root cause) under their own heading, not as "more findings"', () => {
    const report = sampleReport();
    const cause = {
      checkId: 'cluster/deploys-ready',
      severity: 'error' as const,
      message: 'Deployment lab85/web did not become Ready: its image cannot be pulled.',
      location: { file: 'k8s/deployment.yaml', line: 44, column: 18 },
      criteria: [],
    };
    const md = formatMarkdown({ ...report, findings: [...report.findings, cause] });
    expect(md).toContain(
      '<details open><summary><strong>Not part of a criterion (no points of its own)</strong>: 1 finding</summary>',
    );
    expect(md).toContain(
      '- ❌ `k8s/deployment.yaml:44` Deployment lab85/web did not become Ready: its image cannot be pulled. <sub>`cluster/deploys-ready`</sub>',
    );
    expect(md).not.toContain('more findings');
  });

  it('caps the number of findings for large reports', () => {
    expect(formatMarkdown(sampleReport(), { maxFindings: 1 })).toContain('…and 2 more findings');
  });
});

describe('JSON format', () => {
  const schema = reportJsonSchema();

  it('matches the committed, versioned schema (run `npm run schema` after changing it)', () => {
    const committed = JSON.parse(readFileSync(new URL('docs/report.schema.json', root), 'utf8')) as unknown;
    expect(committed).toEqual(schema);
  });

  it('validates against that JSON Schema and round-trips through the zod schema', () => {
    const ajv = new Ajv2020.default({ allErrors: true, strict: false });
    const validate = ajv.compile(schema);
    const json = JSON.parse(renderReport(sampleReport(), 'json')) as unknown;
    expect(validate(json) ? [] : validate.errors).toEqual([]);
    expect(reportSchema.parse(json)).toEqual(sampleReport());
    expect(validate({ ...(json as object), schemaVersion: 2 })).toBe(false);
  });
});

describe('SARIF format', () => {
  const sarifSchema = JSON.parse(
    readFileSync(require.resolve('@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json'), 'utf8'),
  ) as object;
  const ajv = new AjvDraft04.default({ allErrors: true, strict: false, unicodeRegExp: false });
  addFormats.default(ajv);
  const validate = ajv.compile(sarifSchema);

  it('validates against the SARIF 2.1.0 schema', () => {
    const log = JSON.parse(renderReport(sampleReport(), 'sarif', { rules })) as unknown;
    expect(validate(log) ? [] : validate.errors).toEqual([]);
    const notGradable = JSON.parse(
      renderReport(
        sampleReport({
          status: 'not-gradable',
          notGradable: { reason: 'x', message: 'y' },
          submission: { source: 'directory', repository: 'lab' },
        }),
        'sarif',
      ),
    ) as unknown;
    expect(validate(notGradable) ? [] : validate.errors).toEqual([]);
  });

  it('describes rules from the catalog and maps findings to exact regions', () => {
    const log = formatSarif(sampleReport(), { rules });
    const run = log.runs[0]!;
    expect(run.tool.driver.rules?.map((r) => r.id)).toEqual([
      'docs/notes-present',
      'lint/container-resources',
      'lint/secret-env',
    ]);
    expect(run.tool.driver.rules?.[1]).toMatchObject({
      shortDescription: { text: 'Containers set requests and limits' },
      helpUri: 'https://kubernetes.io/x',
      defaultConfiguration: { level: 'error' },
    });
    expect(run.results?.[0]).toMatchObject({
      ruleId: 'lint/container-resources',
      ruleIndex: 1,
      level: 'error',
      locations: [
        {
          physicalLocation: {
            artifactLocation: { uri: 'k8s/deploy%20ment.yaml', uriBaseId: 'SRCROOT' },
            region: { startLine: 42, startColumn: 11, endLine: 42, endColumn: 18 },
          },
        },
      ],
    });
    expect(run.results?.[2]).toMatchObject({ level: 'note' });
    expect(run.versionControlProvenance?.[0]).toMatchObject({
      revisionId: '0123456789abcdef0123456789abcdef01234567',
      branch: 'main',
    });
  });

  it('rejects a broken log (the validator is real)', () => {
    expect(validate({ version: '2.1.0', runs: [{ tool: {} }] })).toBe(false);
  });
});
