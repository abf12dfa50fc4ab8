/**
 * Every docs check has two fixture repositories under fixtures/checks/<check>/,
 * the same convention as the lint rules: `trigger/` must produce findings of
 * that check exactly on the lines marked `<!-- expect: docs/<check> -->` (in
 * Markdown; `# expect:` in YAML), and `pass/` must produce none while still
 * giving the check something to examine, so a true negative is not a vacuous
 * pass. Info findings (reports for an instructor's look) do not count. The
 * fixtures are real directories read through the real RepoFiles, with an
 * inventory of their manifests.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { DOCS_CHECKS } from '../src/index.js';
import { FIXTURES, prepareFixture, run } from './helpers/grade.js';

const root = path.join(FIXTURES, 'checks');

function filesUnder(dir: string, prefix = ''): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? filesUnder(full, `${prefix}${name}/`) : [`${prefix}${name}`];
  });
}

/** `file:line` for every line carrying an `expect:` marker for the check. */
function expectedLines(dir: string, checkId: string): string[] {
  const out: string[] = [];
  for (const file of filesUnder(dir)) {
    if (!/\.(md|ya?ml)$/i.test(file)) continue;
    readFileSync(path.join(dir, file), 'utf8')
      .split('\n')
      .forEach((line, i) => {
        const marker = /(?:<!--|#) expect: ([^>]+?)(?: -->|$)/.exec(line);
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

describe('docs check fixtures', () => {
  it('exist for every check', () => {
    expect(readdirSync(root).sort()).toEqual(DOCS_CHECKS.map((c) => c.id.slice('docs/'.length)).sort());
  });

  describe.each(DOCS_CHECKS.map((c) => [c.id]))('%s', (checkId) => {
    const dir = path.join(root, checkId.slice('docs/'.length));

    it('reports exactly the marked lines of trigger/', async () => {
      const outcome = await run(await prepareFixture(`checks/${checkId.slice(5)}/trigger`), checkId);
      const expected = expectedLines(path.join(dir, 'trigger'), checkId);
      expect(expected.length).toBeGreaterThan(0);
      const actual = [
        ...new Set(
          outcome.findings.filter((f) => f.severity !== 'info').map((f) => `${f.location?.file}:${f.location?.line}`),
        ),
      ].sort();
      expect(actual).toEqual(expected);
      expect(outcome.passed).toBeLessThan(outcome.examined);
      for (const finding of outcome.findings) {
        expect(finding.message.length).toBeGreaterThan(20);
        expect(finding.subject).toBeTruthy();
        expect(finding.fixHint).toMatch(/\S/);
        expect(finding.docsUrl).toMatch(/^https:\/\//);
      }
    });

    it('reports nothing for pass/ while examining something', async () => {
      const outcome = await run(await prepareFixture(`checks/${checkId.slice(5)}/pass`), checkId);
      expect(outcome.findings.filter((f) => f.severity !== 'info')).toEqual([]);
      expect(outcome.examined).toBeGreaterThan(0);
      expect(outcome.passed).toBe(outcome.examined);
      expect(outcome.score ?? 1).toBe(1);
    });
  });
});
