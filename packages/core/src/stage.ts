/**
 * A grading stage that runs checks (docs, lint; later cluster). Each stage
 * package exports one GradingStage: its settings schema (the rubric's
 * `stages.<name>.settings`), its check registry, and `prepare`, which reads
 * and parses what the checks need into a Context. The pipeline does the rest
 * (time budget, running configured checks, scoring).
 */
import type { z } from 'zod';
import type { CheckRegistry, CheckStage, ConfiguredCheck } from './checks.js';
import type { Evidence, Finding } from './findings.js';
import type { ManifestInventory } from './manifests.js';
import type { CommandRunner, Logger } from './ports.js';
import type { RepoFiles } from './repo-files.js';

export interface StageInput<Settings> {
  repo: RepoFiles;
  settings: Settings;
  runner: CommandRunner;
  /** Fires when the stage's time budget is spent or the job is cancelled. */
  signal: AbortSignal;
  logger: Logger;
  /** Kubernetes objects found by the lint stage's discovery (empty before it ran). */
  inventory: ManifestInventory;
  /** Report progress on long steps ("rendering kustomize overlay k8s/overlays/prod"). */
  progress: (message: string) => void;
  /**
   * The stage's checks that the rubric configures (with their options), so a
   * stage whose preparation is expensive (the cluster stage's failure drills)
   * can do only the work those checks grade. Undefined when the caller does
   * not say: prepare everything.
   */
  checks?: readonly ConfiguredCheck[];
}

export interface StagePreparation<Context> {
  context: Context;
  /** The lint stage publishes what it found; later stages read it from StageInput. */
  inventory?: ManifestInventory;
  /** Set when the submission cannot be graded at all by this stage (e.g. no manifests). */
  notGradable?: { reason: 'no-manifests' | 'too-large' | 'cluster-unavailable'; message: string; hint?: string };
  /** Findings about the stage's input that no configured check owns (rare; prefer a check). */
  findings?: Finding[];
  evidence?: Evidence[];
}

export interface GradingStage<Settings, Context> {
  name: CheckStage;
  settingsSchema: z.ZodType<Settings>;
  registry: CheckRegistry<Context>;
  prepare(input: StageInput<Settings>): Promise<StagePreparation<Context>>;
  /**
   * How long the pipeline keeps waiting, after it aborted the stage (time
   * budget spent, job cancelled), for `prepare` to release what it holds,
   * e.g. to delete the cluster it created. Default 0: stop waiting at once.
   */
  abortGraceMs?: number;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyGradingStage = GradingStage<any, any>;
