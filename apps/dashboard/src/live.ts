/**
 * Live status of gradings for the overview and the server-sent events: the
 * worker's progress messages on Redis pub/sub (@labgrader/queue progress.ts),
 * plus, at start, the jobs BullMQ holds waiting or active.
 */
import type { Redis } from 'ioredis';
import {
  labKey,
  parseProgressMessage,
  progressChannel,
  type GradeQueue,
  type ProgressMessage,
  type QueueKeys,
} from '@labgrader/queue';
import type { StudentKey } from '@labgrader/store';
import type { LiveStatus, LiveStatusSource } from './data.js';

export interface LiveEvent extends LiveStatus {
  lab: string;
  student: string;
  repository: string;
}

export interface LiveFeed extends LiveStatusSource {
  /** Calls `listener` for every event until the returned function is called. */
  subscribe(listener: (event: LiveEvent) => void): () => void;
  /** Records an event this process caused (a regrade it queued) and tells the listeners. */
  record(message: ProgressMessage): void;
  close(): Promise<void>;
}

const FINISHED_TTL_MS = 10 * 60_000;

export function subjectOfMessage(by: StudentKey, m: Pick<ProgressMessage, 'repository' | 'student'>): string {
  if (by === 'owner') return m.repository.split('/')[0]!.toLowerCase();
  return (m.student ?? m.repository).toLowerCase();
}

export async function createLiveFeed(options: {
  /** A connection of its own: it is put in subscriber mode. */
  subscriber: Redis;
  queue?: GradeQueue;
  keys: QueueKeys;
  by: StudentKey;
  now?: () => number;
}): Promise<LiveFeed> {
  const now = options.now ?? (() => Date.now());
  const statuses = new Map<string, LiveEvent>();
  const listeners = new Set<(event: LiveEvent) => void>();
  const key = (lab: string, student: string) => `${lab}\u0000${student}`;

  const apply = (m: ProgressMessage) => {
    const event: LiveEvent = {
      lab: m.lab,
      student: subjectOfMessage(options.by, m),
      repository: m.repository,
      state: m.state,
      ...(m.stage ? { stage: m.stage } : {}),
      jobId: m.jobId,
      commit: m.commit,
      at: m.at,
    };
    statuses.set(key(event.lab, event.student), event);
    for (const listener of listeners) {
      try {
        listener(event);
      } catch {
        /* a closed stream */
      }
    }
  };

  if (options.queue) {
    const jobs = await options.queue.getJobs(['active', 'waiting', 'delayed', 'prioritized'], 0, 999);
    for (const job of jobs) {
      if (!job?.id) continue;
      const active = await job.isActive();
      apply({
        v: 1,
        jobId: job.id,
        lab: labKey(job.data),
        ...(job.data.student ? { student: job.data.student.toLowerCase() } : {}),
        repository: job.data.repository.fullName,
        commit: job.data.commit,
        state: active ? 'grading' : 'queued',
        at: new Date(job.timestamp).toISOString(),
      });
    }
  }

  const channel = progressChannel(options.keys);
  options.subscriber.on('message', (ch: string, text: string) => {
    if (ch !== channel) return;
    const m = parseProgressMessage(text);
    if (m) apply(m);
  });
  await options.subscriber.subscribe(channel);

  return {
    statusOf(lab, student) {
      const status = statuses.get(key(lab, student.toLowerCase()));
      if (!status) return undefined;
      const finished = status.state !== 'queued' && status.state !== 'grading';
      if (finished && now() - Date.parse(status.at) > FINISHED_TTL_MS) return undefined;
      const { lab: _l, student: _s, repository: _r, ...live } = status;
      return live;
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    record: apply,
    async close() {
      listeners.clear();
      await options.subscriber.unsubscribe(channel).catch(() => {});
    },
  };
}
