/**
 * The offline kind tooling's own unit tests, which need neither Docker nor a
 * cluster (those run in `npm run test:cluster`):
 *  - the runc wrapper that lets kind's --privileged node containers start on
 *    hosts whose capability bounding set lacks CAP_SYS_RESOURCE, and that must
 *    change nothing on a normal host;
 *  - the node image's default CNI: the node's CNI config writer and the
 *    DaemonSet's agent (routes between nodes, the NetworkPolicy hook), run
 *    against fake kubectl, ip and iptables.
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

describe('test/kind-offline default CNI (cni/labgrader-cni, labgrader-cni-config)', () => {
  it('passes its unit test (per-node subnet config, routes to the other nodes, NetworkPolicy hook)', () => {
    const result = spawnSync('bash', ['test/kind-offline/test-cni-agent.sh'], { encoding: 'utf8' });
    expect(result.stderr).toBe('');
    expect(result.stdout.split('\n').filter((l) => l.startsWith('FAIL'))).toEqual([]);
    expect(result.stdout).toContain('cni-agent: 22 passed, 0 failed');
    expect(result.status).toBe(0);
  });
});
