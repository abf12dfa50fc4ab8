import path from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { CommandRunner } from '@labgrader/core';
import { NotGradableError, UsageError } from '@labgrader/core/errors';
import {
  CLUSTER_MODES,
  ClusterPlanError,
  planClusterStage,
  type ClusterMode,
  type ClusterPlan,
} from '@labgrader/builtin/cluster-plan';
import type { Rubric } from '@labgrader/rubric';
import { FORMATS, type Format } from '@labgrader/report/formats';
import { EXIT, wantsColor, type CliIO } from '../io.js';
import { tuneForOneRun } from '../one-shot.js';
import { createProgress } from '../progress.js';
import { parseSource } from '../source.js';
import { writeOutput } from '../write-output.js';

export { CLUSTER_MODES };

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
  kubeContext?: string;
  out?: string;
  failUnder?: number;
  color?: boolean;
  progress?: boolean;
}

/** The cluster stage's plan for this grading (@labgrader/builtin decides; a bad combination is a usage error). */
export async function planCluster(
  mode: ClusterMode,
  kubeContext: string | undefined,
  rubric: Rubric,
  runner: CommandRunner,
  env: Record<string, string | undefined>,
): Promise<ClusterPlan> {
  try {
    return await planClusterStage({
      mode,
      rubric,
      runner,
      env,
      caller: 'cli',
      ...(kubeContext !== undefined ? { kubeContext } : {}),
    });
  } catch (error) {
    if (error instanceof ClusterPlanError) throw new UsageError(error.message, { hint: error.hint });
    throw error;
  }
}

/**
 * Ctrl-C / SIGTERM cancel the job, so that the cluster stage deletes what it
 * created and the report says the job was interrupted. A terminal sends
 * Ctrl-C to the whole process group, and people press it twice: a second
 * signal only says that the cleanup is still running. A third quits at once,
 * leaving behind what the cleanup has not deleted yet, without a report.
 */
const SIGNALS_TO_QUIT_AT_ONCE = 3;

function interruptible(io: CliIO): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  let received = 0;
  const onSignal = (name: NodeJS.Signals) => {
    received += 1;
    if (received >= SIGNALS_TO_QUIT_AT_ONCE) {
      io.stderr.write(
        `\n${name}: quitting at once; what the cleanup had not deleted yet is left behind (see kind get clusters, docker ps)\n`,
      );
      process.exit(130);
    }
    if (received > 1) {
      io.stderr.write(
        `\n${name}: still cleaning up (deleting the cluster); press Ctrl-C ${SIGNALS_TO_QUIT_AT_ONCE - received === 1 ? 'once more' : `${SIGNALS_TO_QUIT_AT_ONCE - received} more times`} to quit at once and leave it behind\n`,
      );
      return;
    }
    io.stderr.write(
      `\n${name}: stopping; cleaning up (deleting the cluster)… press Ctrl-C twice more to quit at once and leave it behind\n`,
    );
    controller.abort(
      new NotGradableError('stage-failed', `grading was interrupted (${name})`, {
        hint: 'Nothing was graded from the interrupted stage on; run labgrader grade again.',
      }),
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    dispose() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
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
      new Option(
        '--cluster <mode>',
        "cluster stage: auto (when kind + Docker, or the rubric's cluster, are available), kind, or none",
      )
        .choices(CLUSTER_MODES)
        .default('auto'),
    )
    .option('--kube-context <context>', 'run the cluster stage in this existing cluster (own namespaces per job)')
    .option('--out <file>', 'write the report to a file instead of stdout')
    .option('--fail-under <percent>', 'exit with 1 when the score is below this percentage', percent)
    .option('--no-color', 'no ANSI colours in the text report')
    .option('--no-progress', 'no stage progress on stderr')
    .action(async (target: string, flags: GradeFlags) => {
      // Imported when the command runs, so that other commands (and `--help`) do not load them.
      await tuneForOneRun();
      const { builtinCatalog, createBuiltinStages, loadRubric } = await import('@labgrader/builtin');
      const { createExecaRunner } = await import('@labgrader/exec');
      const { gradeSource } = await import('@labgrader/pipeline');
      const { renderReport } = await import('@labgrader/report');
      const source = parseSource(target, flags.ref, io.cwd);
      if (flags.ref && source.kind === 'directory') {
        throw new UsageError('--ref only applies to git URLs', {
          hint: 'Check out the commit in your directory, or pass the repository URL.',
        });
      }
      const runner = createExecaRunner();
      const { rubric, skip } = await planCluster(
        flags.cluster,
        flags.kubeContext,
        await loadRubric(flags.rubric, io.cwd),
        runner,
        io.env,
      );
      const progress = createProgress(io, flags.progress !== false);
      const resolved =
        source.kind === 'directory'
          ? { kind: 'directory' as const, path: path.resolve(io.cwd, source.path), displayPath: target }
          : source;
      let report;
      const interrupt = interruptible(io);
      try {
        report = await gradeSource(
          resolved,
          { rubric, skip },
          {
            runner,
            stages: createBuiltinStages({ env: io.env }),
            onEvent: progress.onEvent,
            signal: interrupt.signal,
          },
        );
      } finally {
        interrupt.dispose();
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
