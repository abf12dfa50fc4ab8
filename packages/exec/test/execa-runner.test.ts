import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { AbortedError, CommandNotFoundError } from '@labgrader/core';
import { createExecaRunner } from '@labgrader/exec';

const runner = createExecaRunner();

describe('createExecaRunner', () => {
  it('returns stdout, stderr and a non-zero exit code without throwing', async () => {
    const r = await runner.run('sh', ['-c', 'echo out; echo err >&2; exit 3']);
    expect(r).toMatchObject({ exitCode: 3, stdout: 'out\n', stderr: 'err\n', timedOut: false });
  });

  it('feeds stdin and passes extra environment', async () => {
    const r = await runner.run('sh', ['-c', 'cat; printf %s "$GREETING"'], { input: 'in:', env: { GREETING: 'hi' } });
    expect(r.stdout).toBe('in:hi');
  });

  it('isolates the environment when asked', async () => {
    process.env.LABGRADER_TEST_LEAK = 'leaked';
    try {
      const r = await runner.run('sh', ['-c', 'printf %s "${LABGRADER_TEST_LEAK:-absent}"'], { isolateEnv: true });
      expect(r.stdout).toBe('absent');
    } finally {
      delete process.env.LABGRADER_TEST_LEAK;
    }
  });

  it('rejects with CommandNotFoundError for a missing program', async () => {
    await expect(runner.run('labgrader-no-such-program', [])).rejects.toBeInstanceOf(CommandNotFoundError);
  });

  it('kills a command that exceeds its timeout', async () => {
    const r = await runner.run('sleep', ['10'], { timeoutMs: 200 });
    expect(r.timedOut).toBe(true);
    expect(r.exitCode).not.toBe(0);
  });

  it('rejects with AbortedError when the signal fires', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(new AbortedError('budget spent')), 100);
    await expect(runner.run('sleep', ['10'], { signal: controller.signal })).rejects.toThrow('budget spent');
  });

  it('runs a detached command in a process group of its own (a terminal Ctrl-C to ours does not reach it)', async () => {
    const script = 'echo $$; cut -d" " -f5 /proc/$$/stat';
    const read = async (detached: boolean) => {
      const r = await runner.run('sh', ['-c', script], detached ? { detached } : {});
      const [pid, group] = r.stdout.trim().split('\n').map(Number);
      return { pid, group };
    };
    const detached = await read(true);
    expect(detached.group).toBe(detached.pid);
    const attached = await read(false);
    expect(attached.group).not.toBe(attached.pid);
    expect(attached.group).toBe(Number(readFileSync(`/proc/${process.pid}/stat`, 'utf8').split(' ')[4]));
  });
});
