import path from 'node:path';
import type { Command } from 'commander';
import { ConfigError } from '@labgrader/core/errors';
import { EXIT, type CliIO } from '../io.js';
import { tuneForOneRun } from '../one-shot.js';

/** `labgrader rubric validate FILE...`: for instructors editing rubrics. */
export function registerRubric(program: Command, io: CliIO, setExit: (code: number) => void): void {
  const rubric = program.command('rubric').description('work with rubric files');
  rubric
    .command('validate')
    .description('check rubric files and print a summary of each')
    .argument('<files...>', 'rubric YAML files')
    .action(async (files: string[]) => {
      // Imported when the command runs, so that other commands (and `--help`) do not load them.
      await tuneForOneRun();
      const { loadRubricFile, rubricMaxPoints } = await import('@labgrader/rubric');
      const { rubricEnvironment } = await import('@labgrader/builtin');
      let failed = false;
      for (const file of files) {
        try {
          const r = await loadRubricFile(path.resolve(io.cwd, file), rubricEnvironment, file);
          const stages = Object.entries(r.stages)
            .filter(([, s]) => s.enabled)
            .map(([n]) => n)
            .join(', ');
          io.stdout.write(
            `✔ ${file}: ${r.id} "${r.title}", ${r.criteria.length} criteria, ${rubricMaxPoints(r)} points, stages: ${stages}\n`,
          );
        } catch (err) {
          if (!(err instanceof ConfigError)) throw err;
          failed = true;
          io.stderr.write(`✘ ${err.message}\n${err.problems.map((p) => `  ${p}\n`).join('')}`);
        }
      }
      setExit(failed ? EXIT.USAGE : EXIT.OK);
    });
}
