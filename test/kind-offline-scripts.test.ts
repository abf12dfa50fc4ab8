/**
 * The offline kind tooling's own unit test: the runc wrapper that lets kind's
 * --privileged node containers start on hosts whose capability bounding set
 * lacks CAP_SYS_RESOURCE, and that must change nothing on a normal host.
 * Needs neither Docker nor a cluster (those run in `npm run test:cluster`).
 */
import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';

describe('test/kind-offline/runc-cap-filter.sh', () => {
  it('passes its unit test (normal host untouched; SYS_RESOURCE dropped where the host lacks it)', () => {
    // The wrapper edits OCI JSON with jq (docker-up.sh installs it; so does .ci/run through it).
    expect({ jqInstalled: spawnSync('jq', ['--version']).status === 0 }).toEqual({ jqInstalled: true });
    const result = spawnSync('bash', ['test/kind-offline/test-runc-cap-filter.sh'], { encoding: 'utf8' });
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain('runc-cap-filter: 7 passed, 0 failed');
    expect(result.status).toBe(0);
  });
});
