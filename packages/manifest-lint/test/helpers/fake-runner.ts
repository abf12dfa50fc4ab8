/** Command runners for tests: scripted answers, or "not installed". */
import { CommandNotFoundError, type CommandResult, type CommandRunner } from '@labgrader/core';

export interface RecordedCall {
  command: string;
  args: readonly string[];
}

export function scriptedRunner(
  answer: (command: string, args: readonly string[]) => Partial<CommandResult> | 'missing',
): CommandRunner & { calls: RecordedCall[] } {
  const calls: RecordedCall[] = [];
  return {
    calls,
    async run(command, args) {
      calls.push({ command, args });
      const result = answer(command, args);
      if (result === 'missing') throw new CommandNotFoundError(command);
      return { exitCode: 0, stdout: '', stderr: '', timedOut: false, durationMs: 1, ...result };
    },
  };
}

export const noTools = scriptedRunner(() => 'missing');
