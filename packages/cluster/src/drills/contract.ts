/**
 * A drill: one controlled failure the cluster stage injects while probing
 * the lab's Service, and measures. Every drill is one folder under drills/
 * exporting one `Drill`, collected in drills/index.ts; a test asserts the
 * list matches the folders. Adding a drill touches only its folder and that
 * list: the stage runs the drills the rubric's checks grade, in list order,
 * and the checks read their results from `context.drills[id]`.
 */
import { z } from 'zod';
import type { PlannedWorkload } from '../plan.js';
import type { DrillContext, DrillResult } from './common.js';

/** What every drill's settings have: when to run, and how long to wait for recovery. */
export const drillRunSettings = {
  run: z
    .enum(['auto', 'always', 'never'])
    .default('auto')
    .describe('auto: when a configured check grades it; always; never'),
  /** Give up waiting for recovery after this long (no credit). */
  timeoutSeconds: z.number().positive().max(1800).default(180),
};

export interface DrillSettingsBase {
  run: 'auto' | 'always' | 'never';
  timeoutSeconds: number;
}

/** What a drill may need from the target and the lab, to say why it cannot run (not applicable, never a zero). */
export interface DrillTarget {
  /** The main workload the drills break. */
  workload: PlannedWorkload;
  /** Whether labgrader can run commands in the nodes (kind, or existing with nodeAccess: docker). */
  nodeAccess: boolean;
  /** How many nodes can run the lab's pods. */
  schedulableNodes: number;
  /** Whether labgrader may drain, cordon or stop nodes (its own kind cluster: yes; a shared cluster: no). */
  ownsNodes: boolean;
}

/** A drill's settings schema: an object with `run` and `timeoutSeconds` at least, every field defaulted. */
export type DrillSettingsSchema = z.ZodObject<z.ZodRawShape> & z.ZodType<DrillSettingsBase>;

export interface Drill<
  Id extends string = string,
  Schema extends DrillSettingsSchema = DrillSettingsSchema,
  Result extends DrillResult = DrillResult,
> {
  id: Id;
  /** Key of its settings under `stages.cluster.settings.drills`. */
  settingsKey: string;
  /** One sentence for people: what it injects, and what it measures. */
  description: string;
  settings: Schema;
  /** Checks that grade its result: configuring one of them makes the drill run (`run: auto`). */
  gradedBy: readonly string[];
  /**
   * What it changes beyond the job's namespaces (nodes drained, stopped), if anything: a warm cluster it ran in
   * is then deleted rather than given to the next job.
   */
  changesClusterState?: string;
  /**
   * Whether it may start while pods of the workload are still Terminating (a
   * pod an earlier drill deleted, finishing its graceful shutdown outside the
   * Service's endpoints). Absent: it waits until they are gone (the node
   * drills count the pods on each node, where a terminating one still is).
   */
  startsBesideTerminatingPods?: boolean;
  /** Why it cannot run on this target or with this lab (reported as not applicable), if so. */
  unsupported(target: DrillTarget): string | undefined;
  run(ctx: DrillContext, settings: z.output<Schema>): Promise<Result>;
}

/** Keeps each drill's own types while checking it is a Drill. */
export function defineDrill<Id extends string, Schema extends DrillSettingsSchema, Result extends DrillResult>(
  drill: Drill<Id, Schema, Result>,
): Drill<Id, Schema, Result> {
  return drill;
}
