/** Runs the CLI in-process with captured output. */
import { main } from '../../apps/cli/src/main.js';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runCli(
  args: string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await main(args, {
    stdout: { write: (s: string) => (stdout += s), isTTY: false },
    stderr: { write: (s: string) => (stderr += s), isTTY: false },
    env: { ...options.env },
    cwd: options.cwd ?? new URL('../../', import.meta.url).pathname,
  });
  return { code, stdout, stderr };
}
