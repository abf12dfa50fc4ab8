/**
 * LABGRADER_KIND_INTERNAL_KUBECONFIG: a grader in a container (docker-compose.yml)
 * reaches kind's API servers over the clusters' Docker network, with the
 * kubeconfig of `kind get kubeconfig --internal`, which never reaches a log.
 */
import { describe, expect, it } from '@jest/globals';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { NotGradableError, silentLogger, type Clock, type CommandResult, type CommandRunner } from '@labgrader/core';
import { Tool, Transcript } from '../src/commands.js';
import { clusterSettingsSchema, resolveClusterConfig } from '../src/index.js';
import { useInternalKubeconfig } from '../src/kind-kubeconfig.js';

const INTERNAL = [
  'apiVersion: v1',
  'clusters:',
  '- cluster:',
  '    certificate-authority-data: Q0E=',
  '    server: https://labgrader-abc-control-plane:6443',
  '  name: kind-labgrader-abc',
  'users:',
  '- name: kind-labgrader-abc',
  '  user:',
  '    client-key-data: U0VDUkVU',
  '',
].join('\n');

function kindTool(result: Partial<CommandResult>, calls: string[][]): Tool {
  const runner: CommandRunner = {
    run: async (command, args) => {
      calls.push([command, ...args]);
      return { exitCode: 0, stdout: '', stderr: '', timedOut: false, durationMs: 1, ...result };
    },
  };
  const clock: Clock = { now: () => new Date(0), monotonicMs: () => 0 };
  return new Tool(runner, 'kind', 'kind', [], {}, new Transcript(clock, 0), silentLogger, new AbortController().signal);
}

describe('useInternalKubeconfig', () => {
  it('replaces the kubeconfig with the internal one, readable by its owner only', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'lg-kubeconfig-'));
    try {
      const file = path.join(dir, 'kubeconfig');
      const calls: string[][] = [];
      await useInternalKubeconfig(kindTool({ stdout: INTERNAL }, calls), 'labgrader-abc', file);
      expect(calls).toEqual([['kind', 'get', 'kubeconfig', '--internal', '--name', 'labgrader-abc']]);
      expect(await readFile(file, 'utf8')).toBe(INTERNAL);
      expect((await stat(file)).mode & 0o777).toBe(0o600);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('makes the job not gradable, saying why, when kind cannot give it', async () => {
    const err = await useInternalKubeconfig(
      kindTool({ exitCode: 1, stderr: 'ERROR: could not locate any control plane nodes' }, []),
      'labgrader-abc',
      '/nonexistent/kubeconfig',
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotGradableError);
    expect(String((err as Error).message)).toContain('could not locate any control plane nodes');
  });
});

describe('LABGRADER_KIND_INTERNAL_KUBECONFIG', () => {
  const settings = clusterSettingsSchema.parse({ target: { type: 'kind' } });
  it('is off unless set', () => {
    expect(resolveClusterConfig(settings, {}).target).not.toHaveProperty('internalKubeconfig');
    expect(resolveClusterConfig(settings, { LABGRADER_KIND_INTERNAL_KUBECONFIG: 'false' }).target).not.toHaveProperty(
      'internalKubeconfig',
    );
  });
  it('turns it on for kind targets', () => {
    expect(resolveClusterConfig(settings, { LABGRADER_KIND_INTERNAL_KUBECONFIG: 'true' }).target).toMatchObject({
      type: 'kind',
      internalKubeconfig: true,
    });
  });
});
