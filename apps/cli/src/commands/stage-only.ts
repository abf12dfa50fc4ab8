/**
 * `labgrader lint` and `labgrader docs`: run one stage on a file or a
 * directory, print its findings, exit 1 when a finding reaches --fail-on.
 * Without --rubric every check of the stage runs with its defaults.
 */
import path from 'node:path';
import { Option, type Command } from 'commander';
import type { CheckStage, Severity } from '@labgrader/core';
import { EXIT, wantsColor, type CliIO } from '../io.js';
import { tuneForOneRun } from '../one-shot.js';
import { createProgress } from '../progress.js';
import { writeOutput } from '../write-output.js';

/**
 * What the action runs, imported when it runs: registering the command (and
 * `--help`) loads none of it, and the command loads only its own stage (the
 * whole composition root only for a --rubric, and the catalog of every check
 * only for the formats that list rules). One after the other: jest's ES
 * module support mislinks modules imported concurrently.
 */
const implementation = async () =>
  [
    await import('@labgrader/builtin/load-stage'),
    await import('@labgrader/exec'),
    await import('@labgrader/pipeline'),
    await import('@labgrader/report'),
    await import('@labgrader/rubric'),
  ] as const;

const FAIL_ON = ['error', 'warning', 'info', 'none'] as const;
const RANK: Record<Severity, number> = { error: 3, warning: 2, info: 1 };

interface StageFlags {
  rubric?: string;
  format: 'text' | 'json' | 'sarif';
  out?: string;
  failOn: (typeof FAIL_ON)[number];
  color?: boolean;
  progress?: boolean;
}

export function registerStageCommand(
  program: Command,
  io: CliIO,
  setExit: (code: number) => void,
  stage: CheckStage,
  description: string,
): void {
  program
    .command(stage)
    .description(description)
    .argument('<path>', 'a file or a directory')
    .option('--rubric <file|id>', "use this rubric's checks and options (default: every check with its defaults)")
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json', 'sarif']).default('text'))
    .option('--out <file>', 'write the output to a file instead of stdout')
    .addOption(
      new Option('--fail-on <severity>', 'exit with 1 when a finding has this severity or worse')
        .choices(FAIL_ON)
        .default('error'),
    )
    .option('--no-color', 'no ANSI colours')
    .option('--no-progress', 'no progress on stderr')
    .action(async (target: string, flags: StageFlags) => {
      await tuneForOneRun();
      const [
        { loadBuiltinStage },
        { createExecaRunner },
        { gradeSource },
        { renderReport },
        { REQUIREMENT_CHECK_ID, rubricForAllChecks },
      ] = await implementation();
      const impl = await loadBuiltinStage(stage);
      const rubric = flags.rubric
        ? await (await import('@labgrader/builtin')).loadRubric(flags.rubric, io.cwd)
        : rubricForAllChecks(stage, impl.registry.list(), impl.settingsSchema);
      const skip = Object.fromEntries(
        (['docs', 'lint', 'cluster'] as const)
          .filter((s) => s !== stage)
          .map((s) => [s, `labgrader ${stage} runs the ${stage} stage only`]),
      );
      const progress = createProgress(io, flags.progress !== false && flags.format === 'text');
      let graded;
      try {
        graded = await gradeSource(
          { kind: 'directory', path: path.resolve(io.cwd, target), displayPath: target },
          { rubric, skip },
          { runner: createExecaRunner(), stages: { [stage]: impl }, onEvent: progress.onEvent },
        );
      } finally {
        progress.stop();
      }
      // Linter output is what the checks found. What a rubric criterion requires of a whole
      // submission ("no workload found") is a grading statement, not a problem in these files.
      const report = { ...graded, findings: graded.findings.filter((f) => f.checkId !== REQUIREMENT_CHECK_ID) };
      const text = renderReport(report, flags.format, {
        color: !flags.out && wantsColor(io.stdout, io.env, flags.color),
        findingsOnly: true,
        ...(flags.format === 'text' ? {} : { rules: (await import('@labgrader/builtin')).builtinCatalog.list() }),
      });
      await writeOutput(io, text, flags.out);
      if (report.status === 'not-gradable') return setExit(EXIT.NOT_GRADABLE);
      const threshold = flags.failOn === 'none' ? Infinity : RANK[flags.failOn];
      setExit(report.findings.some((f) => RANK[f.severity] >= threshold) ? EXIT.BELOW_THRESHOLD : EXIT.OK);
    });
}
