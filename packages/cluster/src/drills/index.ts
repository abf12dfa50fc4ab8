/**
 * The drill registry: every drill of drills/<id>/, keyed by its settings key
 * (`stages.cluster.settings.drills.<key>`), in the order the stage runs them.
 * A test asserts this matches the folders. Adding a drill: its folder, and
 * one line here.
 */
import { z } from 'zod';
import { badRollout } from './bad-rollout/index.js';
import { containerKill } from './container-kill/index.js';
import { nodeDrain } from './node-drain/index.js';
import { nodeFailure } from './node-failure/index.js';
import { podKill } from './pod-kill/index.js';
import { readinessGate } from './readiness-gate/index.js';
import { secretRotation } from './secret-rotation/index.js';

export const DRILL_SET = {
  podKill,
  containerKill,
  badRollout,
  secretRotation,
  readinessGate,
  nodeFailure,
  nodeDrain,
} as const;

type DrillSet = typeof DRILL_SET;
export type AnyDrill = DrillSet[keyof DrillSet];
export const DRILLS: readonly AnyDrill[] = Object.values(DRILL_SET);
export type DrillId = AnyDrill['id'];
export const DRILL_IDS = DRILLS.map((d) => d.id) as [DrillId, ...DrillId[]];

/** What each drill measured, by id (the checks read it; absent when the drill did not run). */
export type DrillResults = {
  [K in keyof DrillSet as DrillSet[K]['id']]?: Awaited<ReturnType<DrillSet[K]['run']>>;
};

/** Each drill's settings, every field defaulted. */
export type DrillSettings = { [K in keyof DrillSet]: z.output<DrillSet[K]['settings']> };

const shape = Object.fromEntries(
  DRILLS.map((d) => [d.settingsKey, (d.settings as z.ZodObject<z.ZodRawShape>).prefault({})]),
) as unknown as {
  [K in keyof DrillSet]: z.ZodPrefault<DrillSet[K]['settings']>;
};
export const drillSettingsSchema = z.strictObject(shape);

export function drillById(id: string): AnyDrill | undefined {
  return DRILLS.find((d) => d.id === id);
}
