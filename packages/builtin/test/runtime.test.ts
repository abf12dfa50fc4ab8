import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { limitYoungGeneration } from '../src/index.js';

const dist = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../dist/index.js');

/** Young-generation size (MB) before and after a workload that keeps many objects alive for a while. */
function youngGenerationGrowth(limit: boolean): { before: number; after: number } {
  if (!existsSync(dist)) throw new Error(`${dist} is missing: run npm run build first`);
  const script = `
    import v8 from 'node:v8';
    import { limitYoungGeneration } from ${JSON.stringify(pathToFileURL(dist).href)};
    if (${limit}) limitYoungGeneration();
    const young = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size / 1048576;
    const before = young();
    const keep = [];
    for (let i = 0; i < 2_000_000; i++) {
      keep.push({ i, s: 'x' + i });
      if (keep.length > 300_000) keep.splice(0, 100_000);
    }
    process.stdout.write(JSON.stringify({ before, after: young() }));
  `;
  const env = { ...process.env };
  delete env.NODE_OPTIONS; // jest's --experimental-vm-modules etc. are not the point here
  return JSON.parse(
    execFileSync(process.execPath, ['--input-type=module', '-e', script], { env, encoding: 'utf8' }),
  ) as {
    before: number;
    after: number;
  };
}

describe('limitYoungGeneration', () => {
  it("keeps V8's young generation from growing under a promotion-heavy workload", () => {
    // Without the limit V8 doubles the young generation under this load; with it, it stays as it was.
    const unlimited = youngGenerationGrowth(false);
    const limited = youngGenerationGrowth(true);
    expect(unlimited.after).toBeGreaterThanOrEqual(2 * unlimited.before);
    expect(limited.after).toBeLessThanOrEqual(limited.before);
  });

  it('leaves a process alone when the operator already tuned the young generation', () => {
    expect(limitYoungGeneration({ execArgv: ['--max-semi-space-size=16'], env: {} })).toBe(false);
    expect(limitYoungGeneration({ execArgv: [], env: { NODE_OPTIONS: '--semi-space-growth-factor=4' } })).toBe(false);
  });
});
