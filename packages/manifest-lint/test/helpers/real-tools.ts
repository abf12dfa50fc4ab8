/** The real command runner, with tools that live outside PATH (helm from ~/.cache/labgrader/bin) mapped to their binaries. */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import type { CommandRunner } from '@labgrader/core';
import { createExecaRunner } from '@labgrader/exec';

export const helmBinary = process.env.LABGRADER_HELM ?? path.join(homedir(), '.cache/labgrader/bin/helm');
export const helmAvailable = existsSync(helmBinary);

/** Says loudly that a real-helm test is not run (and so not counted). */
export function warnHelmNotRun(what: string): void {
  if (helmAvailable) return;
  console.warn(
    `NOT RUN (not counted): ${what} needs the helm binary at ${helmBinary}.\n` +
      'Build it with: GOBIN=~/.cache/labgrader/bin GOFLAGS=-mod=mod go install helm.sh/helm/v3/cmd/helm@v3.19.0',
  );
}

/**
 * The execa runner, with `helm` replaced by `helmBinary` both as the command
 * and as the program a sandbox wrapper (`unshare ... -- helm ...`) starts.
 */
export function realRunner(): CommandRunner {
  const execa = createExecaRunner();
  const map = (program: string) => (program === 'helm' ? helmBinary : program);
  return {
    run(command, args, options) {
      const separator = args.indexOf('--');
      const mapped =
        command === 'unshare' && separator >= 0 ? args.map((a, i) => (i === separator + 1 ? map(a) : a)) : args;
      return execa.run(map(command), mapped, options);
    },
  };
}
