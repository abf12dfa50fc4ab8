/**
 * Live grading progress on Redis pub/sub, for the dashboard's server-sent
 * events: the worker publishes when a job starts, moves to a stage, and
 * ends; the dashboard subscribes. Fire-and-forget: a message nobody hears
 * is lost, which is fine (the store has the result, BullMQ the job state).
 *
 *   channel  <prefix>:<queue>:lg-progress
 *   message  {"v":1,"jobId":…,"lab":"lab-85","student":"alice","state":"grading","stage":"lint",…}
 */
import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { QueueKeys } from './supersede.js';

export const PROGRESS_STATES = ['queued', 'grading', 'graded', 'not-gradable', 'failed', 'superseded'] as const;
export type ProgressState = (typeof PROGRESS_STATES)[number];

export const progressMessageSchema = z
  .object({
    v: z.literal(1),
    jobId: z.string().min(1).max(400),
    /** The lab (the rubric without a course configuration). */
    lab: z.string().min(1).max(64),
    /** Who the grading counts for, lowercased, when known. */
    student: z.string().min(1).max(100).optional(),
    /** `owner/name`. */
    repository: z.string().min(1).max(201),
    commit: z.string().min(7).max(64),
    state: z.enum(PROGRESS_STATES),
    /** "lint", "cluster: pod-kill drill": the worker's progress text. */
    stage: z.string().max(200).optional(),
    at: z.iso.datetime({ offset: true }),
  })
  .strict();
export type ProgressMessage = z.infer<typeof progressMessageSchema>;

export function progressChannel(keys: QueueKeys): string {
  return `${keys.prefix}:${keys.queueName}:lg-progress`;
}

export async function publishProgress(redis: Redis, keys: QueueKeys, message: ProgressMessage): Promise<void> {
  await redis.publish(progressChannel(keys), JSON.stringify(progressMessageSchema.parse(message)));
}

/** A message from the channel, or undefined when it is not one (never throws: the channel is shared). */
export function parseProgressMessage(text: string): ProgressMessage | undefined {
  try {
    const parsed = progressMessageSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
