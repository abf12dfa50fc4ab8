/**
 * Every rule has two fixture repositories under fixtures/rules/<rule>/:
 * `trigger/` must produce findings of that rule exactly on the lines marked
 * `# expect: lint/<rule>`, and `pass/` must produce none while still giving
 * the rule something to examine (so a true negative is not a vacuous pass).
 * The fixtures are real directories linted through the real RepoFiles and
 * command runner, so kustomize renders for real.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { createExecaRunner } from '@labgrader/exec';
import { openRepoFiles } from '@labgrader/repo';
import { LINT_RULES, lintRepository } from '../src/index.js';

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'rules');
const runner = createExecaRunner();

function filesUnder(dir: string, prefix = ''): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? filesUnder(full, `${prefix}${name}/`) : [`${prefix}${name}`];
  });
}

/** `file:line` for every line carrying `# expect: <checkId>`. */
function expectedLines(dir: string, checkId: string): string[] {
  const out: string[] = [];
  for (const file of filesUnder(dir)) {
    readFileSync(path.join(dir, file), 'utf8')
      .split('\n')
      .forEach((line, i) => {
        const marker = /# expect: (.+)$/.exec(line);
        if (
          marker?.[1]
            ?.split(',')
            .map((s) => s.trim())
            .includes(checkId)
        )
          out.push(`${file}:${i + 1}`);
      });
  }
  return out.sort();
}

async function run(dir: string, checkId: string) {
  const repo = await openRepoFiles(dir);
  const result = await lintRepository(repo, { checks: [checkId], runner });
  const run = result.runs.find((r) => r.id === checkId)!;
  expect(run.error).toBeUndefined();
  return { result, outcome: run.outcome! };
}

describe('rule fixtures', () => {
  it('exist for every rule', () => {
    const dirs = readdirSync(fixtures).sort();
    expect(dirs).toEqual(LINT_RULES.map((r) => r.id.slice('lint/'.length)).sort());
  });

  describe.each(LINT_RULES.map((r) => [r.id, r.severity]))('%s', (checkId, severity) => {
    const dir = path.join(fixtures, checkId.slice('lint/'.length));
    // Info findings count only for rules whose findings are info by default.
    const counts = (f: { severity: string }) => f.severity !== 'info' || severity === 'info';

    it('reports exactly the marked lines of trigger/', async () => {
      const { result, outcome } = await run(path.join(dir, 'trigger'), checkId);
      const expected = expectedLines(path.join(dir, 'trigger'), checkId);
      expect(expected.length).toBeGreaterThan(0);
      const actual = [
        ...new Set(
          result.findings
            .filter((f) => f.checkId === checkId && counts(f))
            .map((f) => `${f.location?.file}:${f.location?.line}`),
        ),
      ].sort();
      expect(actual).toEqual(expected);
      if (severity !== 'info') expect(outcome.passed).toBeLessThan(outcome.examined);
      for (const finding of result.findings) {
        expect(finding.message.length).toBeGreaterThan(20);
        expect(finding.subject).toBeTruthy();
        expect(finding.fixHint).toContain('```yaml');
      }
    });

    it('reports nothing for pass/ while examining something', async () => {
      const { result, outcome } = await run(path.join(dir, 'pass'), checkId);
      expect(result.findings.filter((f) => f.checkId === checkId && counts(f))).toEqual([]);
      expect(outcome.examined).toBeGreaterThan(0);
      expect(outcome.passed).toBe(outcome.examined);
    });
  });
});
