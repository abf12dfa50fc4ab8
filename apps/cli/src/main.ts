#!/usr/bin/env node
/**
 * labgrader command line. `main()` is pure with respect to its IO so tests
 * run it in-process; `runAsProcess()` wires it to the real process (the
 * installed command, bin/labgrader.cjs, runs it from the bundle that
 * `npm run build` writes; `node apps/cli/dist/main.js` runs it unbundled).
 *
 * Start-up cost matters (`labgrader lint` of a ten-file lab should take a
 * blink): this module and the command registrations import only commander
 * and light helpers; each command's action imports what it needs when it
 * runs.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { limitYoungGeneration } from '@labgrader/builtin/runtime';
// Subpath imports: the package's index would load every schema of the core model at start-up.
import { toDisplayText, type DisplayTextOptions } from '@labgrader/core/display-text';
import { ConfigError, isLabgraderError } from '@labgrader/core/errors';
import { redactSecrets } from '@labgrader/core/redact';
import { LABGRADER_VERSION } from '@labgrader/core/version';
import { registerChecks } from './commands/checks.js';
import { registerGrade } from './commands/grade.js';
import { registerRubric } from './commands/rubric.js';
import { registerStageCommand } from './commands/stage-only.js';
import { EXIT, type CliIO } from './io.js';

/** Messages can quote a student's file names and values: no secrets, no terminal control sequences. */
function shown(text: string, options: DisplayTextOptions = {}): string {
  return toDisplayText(redactSecrets(text), options);
}

export async function main(argv: readonly string[], io: CliIO): Promise<number> {
  let exitCode: number = EXIT.OK;
  const setExit = (code: number) => {
    exitCode = code;
  };
  const program = new Command()
    .name('labgrader')
    .description('Grade Kubernetes lab repositories: docs, manifests and (soon) a live failure drill.')
    .version(LABGRADER_VERSION)
    .exitOverride()
    .showSuggestionAfterError()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) });
  registerGrade(program, io, setExit);
  registerStageCommand(
    program,
    io,
    setExit,
    'lint',
    'lint Kubernetes manifests (a file or a directory) for production readiness',
  );
  registerStageCommand(
    program,
    io,
    setExit,
    'docs',
    'check architecture-notes.md, its diagram and the failure analysis',
  );
  registerChecks(program, io);
  registerRubric(program, io, setExit);
  (await import('./commands/course.js')).registerCourse(program, io, setExit);

  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help'
        ? EXIT.OK
        : EXIT.USAGE;
    }
    if (err instanceof ConfigError) {
      io.stderr.write(
        `labgrader: ${shown(err.message)}\n${err.problems.map((p) => `  ${shown(p)}\n`).join('')}${err.hint ? `hint: ${shown(err.hint)}\n` : ''}`,
      );
      return EXIT.USAGE;
    }
    if (isLabgraderError(err)) {
      io.stderr.write(`labgrader: ${shown(err.message)}\n${err.hint ? `hint: ${shown(err.hint)}\n` : ''}`);
      return err.kind === 'usage' ? EXIT.USAGE : EXIT.NOT_GRADABLE;
    }
    io.stderr.write(
      `labgrader: internal error: ${shown(err instanceof Error ? (io.env.LABGRADER_DEBUG ? (err.stack ?? err.message) : err.message) : String(err), { multiline: true })}\n`,
    );
    io.stderr.write('This is a bug in labgrader; set LABGRADER_DEBUG=1 for details and please report it.\n');
    return EXIT.INTERNAL;
  }
}

function isEntryPoint(): boolean {
  try {
    return realpathSync(process.argv[1] ?? '') === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

/** Runs the command line as this process: its arguments, streams, environment and exit code. */
export async function runAsProcess(): Promise<void> {
  limitYoungGeneration();
  process.exitCode = await main(process.argv.slice(2), {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
  });
}

if (isEntryPoint()) void runAsProcess();
