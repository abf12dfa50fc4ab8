/**
 * Secret rotation: the Secret the workload reads gets new values (as an
 * operator rotating a leaked or expiring credential would), and the workload
 * must pick them up without an outage.
 *
 * What can be seen from outside the app is whether its pods were restarted
 * after the rotation: a pod started after it necessarily has the new values,
 * whether it reads them from env vars or from files. So "picked up" means:
 * every Ready pod of the workload was created (or its containers restarted)
 * after the rotation. That happens by itself when something watches the
 * Secret (a reloader, the app restarting itself); the drill waits
 * `watchSeconds` for it. Otherwise it runs `kubectl rollout restart`, the
 * rotation runbook's step for an app that reads its Secrets at start (env
 * vars are never updated in a running container). A Secret mounted as a
 * volume is updated in the running pods by the kubelet within a minute or
 * so, but whether the app re-reads the file cannot be seen from outside: it
 * is not counted as picked up, and the rollout restart makes it certain.
 * The Service is probed throughout.
 */
import { randomBytes } from 'node:crypto';
import { InfrastructureError } from '@labgrader/core';
import { z } from 'zod';
import { firstLine } from '../../commands.js';
import { desiredReplicas, isPodReady } from '../../kube.js';
import type { PlannedWorkload } from '../../plan.js';
import {
  completedDrill,
  drillEvents,
  getWorkload,
  listPods,
  notRun,
  seconds,
  type DrillContext,
  type DrillResult,
} from '../common.js';
import { defineDrill, drillRunSettings } from '../contract.js';
import { Timeline, drillStart, isTerminatingPod, stopProbeSamples, type ProbeRecord } from '../observe.js';

export const secretRotationSettings = z.strictObject({
  ...drillRunSettings,
  /** The Secret to rotate (its name); default: the first Secret the workload's containers read. */
  secret: z.string().min(1).optional(),
  /** How long the workload has to roll by itself after the rotation, before `kubectl rollout restart`. */
  watchSeconds: z.number().min(0).max(600).default(20),
  /**
   * Run `kubectl rollout restart` when the workload did not roll by itself (the
   * runbook of an app that reads its Secrets at start). false: only a roll of its
   * own counts, and none is "not picked up".
   */
  restart: z.boolean().default(true),
});
export type SecretRotationSettings = z.infer<typeof secretRotationSettings>;

export interface SecretRotationResult extends DrillResult {
  /** `lab85/web-secrets`, as the student wrote it. */
  secret?: string;
  /** `web-secrets`. */
  secretName?: string;
  keys?: string[];
  /** How the workload read it: env (secretKeyRef/envFrom), volume, or both. */
  readAs?: ('env' | 'volume')[];
  /** automatic: it rolled by itself; rollout-restart: after labgrader's kubectl rollout restart; undefined: not picked up. */
  pickedUp?: 'automatic' | 'rollout-restart';
  /** Seconds after the rotation when every Ready pod had the new values (= recoverySeconds). */
  pickupSeconds?: number;
  /** Seconds after the rotation when `kubectl rollout restart` ran, if it did. */
  restartedAtSeconds?: number;
  desired?: number;
}

interface SecretObject {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; resourceVersion?: string; managedFields?: unknown };
  data?: Record<string, string>;
  [field: string]: unknown;
}

interface SecretUse {
  name: string;
  /** Keys named by the reference (empty: the whole Secret). */
  keys: string[];
  as: 'env' | 'volume';
}

function asRecord(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}
function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

/** The Secrets the workload's containers read, in manifest order (image pull secrets left out). */
export function secretsUsed(workload: PlannedWorkload): SecretUse[] {
  const uses: SecretUse[] = [];
  for (const c of [...workload.workload.initContainers, ...workload.workload.containers]) {
    for (const env of asArray(c.value.env)) {
      const ref = asRecord(asRecord(asRecord(env).valueFrom).secretKeyRef);
      if (typeof ref.name === 'string' && typeof ref.key === 'string')
        uses.push({ name: ref.name, keys: [ref.key], as: 'env' });
    }
    for (const from of asArray(c.value.envFrom)) {
      const ref = asRecord(asRecord(from).secretRef);
      if (typeof ref.name === 'string') uses.push({ name: ref.name, keys: [], as: 'env' });
    }
  }
  for (const v of asArray(workload.workload.podSpec.volumes)) {
    const volume = asRecord(v);
    const secret = asRecord(volume.secret);
    const itemKeys = (items: unknown) =>
      asArray(items)
        .map((i) => asRecord(i).key)
        .filter((k): k is string => typeof k === 'string');
    if (typeof secret.secretName === 'string') {
      uses.push({ name: secret.secretName, keys: itemKeys(secret.items), as: 'volume' });
    }
    for (const source of asArray(asRecord(volume.projected).sources)) {
      const s = asRecord(asRecord(source).secret);
      if (typeof s.name === 'string') uses.push({ name: s.name, keys: itemKeys(s.items), as: 'volume' });
    }
  }
  return uses;
}

export function noSecretReason(workload: PlannedWorkload, configured?: string): string | undefined {
  const uses = secretsUsed(workload);
  if (configured) {
    return uses.some((u) => u.name === configured)
      ? undefined
      : `${workload.subject} does not read Secret ${configured} (secretKeyRef, envFrom or a secret volume), so rotating it would show nothing`;
  }
  return uses.length > 0
    ? undefined
    : `${workload.subject} reads no Secret (secretKeyRef, envFrom or a secret volume): there is nothing to rotate`;
}

async function runSecretRotation(ctx: DrillContext, settings: SecretRotationSettings): Promise<SecretRotationResult> {
  const { timeoutSeconds } = settings;
  const w = ctx.workload;
  const why = noSecretReason(w, settings.secret);
  if (why) return notRun('secret-rotation', 'unsupported', why, timeoutSeconds);
  const uses = secretsUsed(w);
  const name = settings.secret ?? uses[0]!.name;
  const mine = uses.filter((u) => u.name === name);
  const subject = `${w.source.namespace ? `${w.source.namespace}/` : ''}${name}`;
  const from = ctx.transcript.length;

  // The keys to rotate: those the references name, or every key of the Secret. Its values stay in memory only.
  let keys = [...new Set(mine.flatMap((u) => u.keys))];
  const current = await ctx.kubectl
    .json<SecretObject>(['-n', w.namespace, 'get', `secret/${name}`], { unrecorded: true, sensitive: true })
    .catch((err: unknown) => new Error(ctx.redactor.redact(err instanceof Error ? err.message : String(err))));
  if (current instanceof Error) {
    return notRun(
      'secret-rotation',
      'not-run',
      `Secret ${subject} could not be read from the cluster (${firstLine(current.message)})`,
      timeoutSeconds,
    );
  }
  const existing = Object.keys(current.data ?? {});
  if (mine.some((u) => u.keys.length === 0)) keys = [...new Set([...keys, ...existing])];
  keys = keys.filter((k) => existing.includes(k)).sort();
  if (keys.length === 0) {
    return notRun(
      'secret-rotation',
      'not-run',
      `Secret ${subject} has none of the keys the workload reads`,
      timeoutSeconds,
    );
  }
  const readAs = [...new Set(mine.map((u) => u.as))].sort();
  const desired = desiredReplicas(await getWorkload(ctx, true));
  const before = await listPods(ctx, true);
  const restarts = new Map(
    before.map((p) => [
      p.metadata.name,
      new Map((p.status.containerStatuses ?? []).map((s) => [s.name, s.restartCount])),
    ]),
  );
  /** A pod that has the new values: created after the rotation, or its containers restarted since. */
  const fresh = (p: (typeof before)[number]) => {
    const had = restarts.get(p.metadata.name);
    if (!had) return true;
    const statuses = p.status.containerStatuses ?? [];
    return statuses.length > 0 && statuses.every((s) => s.restartCount > (had.get(s.name) ?? 0));
  };
  ctx.progress(`secret rotation: new values for ${keys.join(', ')} in Secret ${subject}`);

  const start = drillStart(ctx.clock);
  const timeline = new Timeline(ctx.clock, start);
  const running = ctx.prober?.start((settings.watchSeconds + timeoutSeconds + 60) * 1000);
  let record: ProbeRecord;
  let pickedUp: SecretRotationResult['pickedUp'];
  let pickupMs: number | undefined;
  let restartedAtMs: number | undefined;
  const seen = new Set(before.map((p) => p.metadata.name));
  try {
    const data: Record<string, string> = { ...current.data };
    for (const key of keys) {
      // As the synthesized Secrets' values (secrets.ts), which this module does not import (it imports the settings).
      const value = randomBytes(24).toString('base64url');
      ctx.redactor.add(value);
      data[key] = Buffer.from(value).toString('base64');
    }
    // replace, with the resourceVersion read: only these keys change, and nothing else wrote it meanwhile.
    const { managedFields: _managed, ...metadata } = current.metadata;
    const rotated = await ctx.kubectl.run(['-n', w.namespace, 'replace', '-f', '-'], {
      input: JSON.stringify({ ...current, metadata, data }),
      sensitive: true,
    });
    if (rotated.exitCode !== 0) {
      throw new InfrastructureError(
        `kubectl replace of Secret ${subject} failed: ${ctx.redactor.redact(firstLine(rotated.stderr))}`,
      );
    }
    timeline.markAt(0, `Secret ${subject} rotated: new values for ${keys.join(', ')}`);
    let rolling = false;
    for (;;) {
      const elapsed = timeline.elapsedMs();
      if (elapsed >= (settings.watchSeconds + timeoutSeconds) * 1000) break;
      if (!rolling && restartedAtMs === undefined && elapsed >= settings.watchSeconds * 1000) {
        if (!settings.restart) break;
        const kind = w.kind.toLowerCase();
        const restarted = await ctx.kubectl.run(['-n', w.namespace, 'rollout', 'restart', `${kind}/${w.name}`]);
        if (restarted.exitCode !== 0) {
          throw new InfrastructureError(
            `kubectl rollout restart ${kind}/${w.name} failed: ${firstLine(restarted.stderr)}`,
          );
        }
        restartedAtMs = timeline.elapsedMs();
        timeline.mark(
          `no pod restarted by itself within ${settings.watchSeconds} s: kubectl rollout restart ${kind}/${w.name} (the rotation runbook's step)`,
        );
      }
      await ctx.sleep(ctx.config.pollIntervalMs);
      const pods = await listPods(ctx);
      for (const p of pods) {
        if (!seen.has(p.metadata.name)) {
          seen.add(p.metadata.name);
          timeline.mark(`new pod ${p.metadata.name}${p.spec.nodeName ? ` on ${p.spec.nodeName}` : ''}`);
        }
        if (restarts.has(p.metadata.name) && fresh(p))
          timeline.mark(`pod ${p.metadata.name} restarted`, `restart-${p.metadata.name}`);
      }
      const live = pods.filter((p) => !isTerminatingPod(p));
      if (!rolling && restartedAtMs === undefined && live.some(fresh)) {
        rolling = true;
        timeline.mark(`${w.subject} rolls by itself`, 'rolling');
      }
      const ready = live.filter(isPodReady);
      if (ready.length >= desired && ready.every(fresh) && live.every(fresh)) {
        pickupMs = timeline.elapsedMs();
        pickedUp = restartedAtMs === undefined ? 'automatic' : 'rollout-restart';
        timeline.mark(`every pod has the new values: ${ready.length}/${desired} Ready, all started after the rotation`);
        break;
      }
    }
  } finally {
    record = await stopProbeSamples(ctx, running, start);
  }
  if (pickupMs === undefined) {
    timeline.mark(
      `not picked up: ${restartedAtMs === undefined && !settings.restart ? `no pod restarted within ${settings.watchSeconds} s` : `pods with the old values still running ${timeoutSeconds} s after the restart`}`,
    );
  }
  const events = await drillEvents(ctx, seen, start.wallMs);
  return {
    ...completedDrill({
      scenario: 'secret-rotation',
      recoveredMs: pickupMs,
      timeoutSeconds,
      commands: ctx.transcript.since(from),
      events,
      probe: record.summary,
      narrate: (pickup) =>
        [
          `rotated ${keys.join(', ')} in Secret ${subject} (read as ${readAs.join(' and ')})`,
          restartedAtMs !== undefined
            ? `nothing restarted within ${settings.watchSeconds} s, so kubectl rollout restart ${w.kind.toLowerCase()}/${w.name}`
            : pickedUp === 'automatic'
              ? 'the workload rolled by itself'
              : '',
          pickup === undefined
            ? 'not every pod had the new values in time'
            : `every pod had the new values ${pickup} s after the rotation`,
        ]
          .filter(Boolean)
          .join('; '),
    }),
    secret: subject,
    secretName: name,
    keys,
    readAs,
    ...(pickedUp ? { pickedUp } : {}),
    ...(pickupMs !== undefined ? { pickupSeconds: seconds(pickupMs) } : {}),
    ...(restartedAtMs !== undefined ? { restartedAtSeconds: seconds(restartedAtMs) } : {}),
    desired,
    timeline: timeline.entries,
  };
}

export const secretRotation = defineDrill({
  id: 'secret-rotation',
  settingsKey: 'secretRotation',
  description:
    'Rotates the values of the Secret the main workload reads, waits for the workload to roll by itself, else runs kubectl rollout restart, and measures the time until every Ready pod was started after the rotation, probing the Service throughout.',
  settings: secretRotationSettings,
  gradedBy: ['cluster/secret-rotation'],
  unsupported: (target) => noSecretReason(target.workload),
  run: runSecretRotation,
});
