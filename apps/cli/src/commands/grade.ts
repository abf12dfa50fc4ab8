import path from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { UsageError, type CheckStage } from '@labgrader/core';
import { builtinCatalog, builtinStages, loadRubric } from '@labgrader/builtin';
import { createExecaRunner } from '@labgrader/exec';
import { gradeSource } from '@labgrader/pipeline';
import { FORMATS, renderReport, type Format } from '@labgrader/report';
import { EXIT, wantsColor, type CliIO } from '../io.js';
import { createProgress } from '../progress.js';
import { parseSource } from '../source.js';
import { writeOutput } from '../write-output.js';

export const CLUSTER_MODES = ['auto', 'kind', 'none'] as const;
type ClusterMode = (typeof CLUSTER_MODES)[number];

function percent(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n > 100)
    throw new InvalidArgumentError('expected a percentage between 0 and 100');
  return n;
}

interface GradeFlags {
  ref?: string;
  rubric?: string;
  format: Format;
  cluster: ClusterMode;
  out?: string;
  failUnder?: number;
  color?: boolean;
  progress?: boolean;
}

/** What to do with the cluster stage for --cluster, given what this build offers. */
function clusterSkip(mode: ClusterMode): Partial<Record<CheckStage, string>> {
  if (mode === 'none') return { cluster: '--cluster none' };
  if (!builtinStages.cluster) {
    if (mode === 'kind') {
      throw new UsageError('--cluster kind: this build of labgrader has no cluster stage yet', {
        hint: 'Use --cluster none (or auto) to grade the docs and manifests only.',
      });
    }
    return { cluster: 'no cluster stage in this build (--cluster auto)' };
  }
  return {};
}

export function registerGrade(program: Command, io: CliIO, setExit: (code: number) => void): void {
  program
    .command('grade')
    .description('grade a lab repository (a directory or a git URL) against a rubric')
    .argument(
      '<dir|git-url>',
      'lab repository: a local directory, or a git URL (https://, ssh://, git@host:owner/repo, file://)',
    )
    .option('--ref <sha|branch|tag>', 'commit, branch or tag to grade (git URLs only; default: the default branch)')
    .option('--rubric <file|id>', 'rubric file, or a bundled rubric id (lab-85, production-readiness)', undefined)
    .addOption(new Option('--format <format>', 'output format').choices(FORMATS).default('text'))
    .addOption(
      new Option('--cluster <mode>', 'cluster stage: auto (if available), kind, or none')
        .choices(CLUSTER_MODES)
        .default('auto'),
    )
    .option('--out <file>', 'write the report to a file instead of stdout')
    .option('--fail-under <percent>', 'exit with 1 when the score is below this percentage', percent)
    .option('--no-color', 'no ANSI colours in the text report')
    .option('--no-progress', 'no stage progress on stderr')
    .action(async (target: string, flags: GradeFlags) => {
      const source = parseSource(target, flags.ref);
      if (flags.ref && source.kind === 'directory') {
        throw new UsageError('--ref only applies to git URLs', {
          hint: 'Check out the commit in your directory, or pass the repository URL.',
        });
      }
      const rubric = await loadRubric(flags.rubric, io.cwd);
      const skip = clusterSkip(flags.cluster);
      const progress = createProgress(io, flags.progress !== false);
      const resolved =
        source.kind === 'directory'
          ? { kind: 'directory' as const, path: path.resolve(io.cwd, source.path), displayPath: target }
          : source;
      let report;
      try {
        report = await gradeSource(
          resolved,
          { rubric, skip },
          { runner: createExecaRunner(), stages: builtinStages, onEvent: progress.onEvent },
        );
      } finally {
        progress.stop();
      }
      const text = renderReport(report, flags.format, {
        color: flags.format === 'text' && !flags.out && wantsColor(io.stdout, io.env, flags.color),
        rules: builtinCatalog.list(),
      });
      await writeOutput(io, text, flags.out);
      if (report.status === 'not-gradable') return setExit(EXIT.NOT_GRADABLE);
      if (flags.failUnder !== undefined && report.score.percent < flags.failUnder) {
        io.stderr.write(`score ${report.score.percent}% is below --fail-under ${flags.failUnder}%\n`);
        return setExit(EXIT.BELOW_THRESHOLD);
      }
      setExit(EXIT.OK);
    });
}
