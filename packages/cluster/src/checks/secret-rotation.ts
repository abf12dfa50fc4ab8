import { z } from 'zod';
import { defineCheck, type SourceLocation } from '@labgrader/core';
import type { ClusterContext } from '../context.js';
import type { PlannedWorkload } from '../plan.js';
import {
  availabilityLocation,
  drillDidNotRun,
  drillEvidence,
  missingDrill,
  notMeaningful,
  percent,
  workloadLocation,
} from './shared.js';

export const secretRotationOptions = z.strictObject({
  /** Share of requests that must be answered from the rotation until every pod has the new values. */
  minSuccessRatio: z.number().min(0).max(1).default(0.95),
  /**
   * Credit when the pods got the new values only through labgrader's
   * `kubectl rollout restart` (the runbook of an app that reads its Secrets at
   * start, which is most apps): 1 by default; lower it to reward workloads
   * that roll by themselves.
   */
  restartCredit: z.number().min(0).max(1).default(1),
  /** At most this credit when the Service did not keep answering while the new values rolled out. */
  outageCredit: z.number().min(0).max(1).default(0.5),
});
export type SecretRotationOptions = z.infer<typeof secretRotationOptions>;

/** Where the workload names the Secret (secretKeyRef, envFrom, secret volume), else the workload. */
export function secretReference(workload: PlannedWorkload, secret: string | undefined): SourceLocation {
  const source = workload.source;
  if (secret) {
    for (const c of [...workload.workload.initContainers, ...workload.workload.containers]) {
      const env = Array.isArray(c.value.env) ? (c.value.env as Record<string, unknown>[]) : [];
      const i = env.findIndex((e) => {
        const ref = (e?.valueFrom as Record<string, unknown> | undefined)?.secretKeyRef as
          Record<string, unknown> | undefined;
        return ref?.name === secret;
      });
      if (i >= 0) return source.locate([...c.path, 'env', i, 'valueFrom', 'secretKeyRef', 'name'], 'value');
      const envFrom = Array.isArray(c.value.envFrom) ? (c.value.envFrom as Record<string, unknown>[]) : [];
      const j = envFrom.findIndex((e) => (e?.secretRef as Record<string, unknown> | undefined)?.name === secret);
      if (j >= 0) return source.locate([...c.path, 'envFrom', j, 'secretRef', 'name'], 'value');
    }
    const volumes = workload.workload.podSpec.volumes;
    const k = (Array.isArray(volumes) ? (volumes as Record<string, unknown>[]) : []).findIndex(
      (v) => (v?.secret as Record<string, unknown> | undefined)?.secretName === secret,
    );
    if (k >= 0) return source.locate([...workload.workload.podSpecPath, 'volumes', k, 'secret', 'secretName'], 'value');
  }
  return workloadLocation(workload);
}

export const secretRotation = defineCheck<ClusterContext, SecretRotationOptions>({
  id: 'cluster/secret-rotation',
  stage: 'cluster',
  title: 'A rotated Secret reaches every pod without an outage',
  rationale:
    'Credentials leak and expire, and rotating one must not take the service down. An app reads a Secret from env vars at start (a running container never sees a new value) or from a mounted file; either way, the new value is only certain to be in use once every pod was restarted, and that rolling restart must keep enough Ready pods to serve.',
  severity: 'error',
  fixHint: [
    'Make the rolling restart that follows a rotation safe: several replicas, readiness probes, and never fewer Ready pods than needed. Rotate with:',
    '',
    '```sh',
    'kubectl -n <ns> create secret generic <name> --from-literal=api-token=<new> --dry-run=client -o yaml | kubectl apply -f -',
    'kubectl -n <ns> rollout restart deployment/<name>',
    'kubectl -n <ns> rollout status deployment/<name>',
    '```',
  ].join('\n'),
  docsUrl: 'https://kubernetes.io/docs/concepts/configuration/secret/#using-secrets-as-environment-variables',
  options: secretRotationOptions,
  run(context, options, reporter) {
    const drill = context.drills['secret-rotation'];
    const workload = context.main.workload;
    if (!drill || !workload) {
      if (missingDrill(secretRotation, context, 'secret-rotation', reporter)) return;
      throw new Error('the secret-rotation drill did not run although cluster/secret-rotation is configured');
    }
    const reference = secretReference(workload, drill.secretName);
    // The lab failed on its own (e.g. its pods restarted by themselves, seen after this drill ran): one cause.
    if (drill.status !== 'unsupported' && notMeaningful(context, [workload.subject], reporter, drill)) return;
    drillEvidence(reporter, drill, reference);
    if (
      drillDidNotRun(secretRotation, drill, workload, reporter, {
        scenario: 'secret-rotation',
        subjects: [workload.subject],
      })
    )
      return;
    reporter.examine(workload.subject);
    const secret = `Secret ${drill.secret ?? '?'}`;
    if (drill.pickedUp === undefined || drill.pickupSeconds === undefined) {
      reporter.report({
        message:
          drill.restartedAtSeconds === undefined
            ? `After ${secret} was rotated, no pod of ${workload.subject} restarted within the drill's wait: the running pods keep the old values until they are restarted.`
            : `After ${secret} was rotated and kubectl rollout restart ran, ${workload.subject} still had pods started before the rotation ${drill.timeoutSeconds} s later: the rolling restart did not complete.`,
        location: drill.restartedAtSeconds === undefined ? reference : workloadLocation(workload),
        subject: workload.subject,
      });
      reporter.credit(0);
      reporter.summary(`not picked up within ${drill.timeoutSeconds} s`);
      return;
    }
    let credit = drill.pickedUp === 'automatic' ? 1 : options.restartCredit;
    const how =
      drill.pickedUp === 'automatic'
        ? `picked up by a roll of its own in ${drill.pickupSeconds} s`
        : `picked up after kubectl rollout restart, ${drill.pickupSeconds} s after the rotation`;
    if (credit < 1) {
      reporter.report({
        severity: credit > 0 ? 'warning' : secretRotation.severity,
        message: `${workload.subject} picked up the rotated ${secret} only after kubectl rollout restart: nothing restarts its pods when the Secret changes (env vars are read at start). This rubric expects the workload to roll by itself.`,
        location: reference,
        subject: workload.subject,
      });
    }
    const probe = drill.probe;
    let outage = false;
    if (probe && probe.ratio < options.minSuccessRatio) {
      outage = true;
      credit = Math.min(credit, options.outageCredit);
      reporter.report({
        message: `While the pods of ${workload.subject} restarted with the rotated ${secret}, the Service answered only ${probe.ok} of ${probe.total} requests (${percent(probe.ratio)}; at least ${percent(options.minSuccessRatio)} expected), longest outage ${Math.round(probe.longestOutageMs / 100) / 10} s: the rolling restart took pods down before new ones were Ready.`,
        location: availabilityLocation(workload, drill.desired),
        subject: workload.subject,
      });
    }
    reporter.credit(credit);
    reporter.summary(
      `${how}, ${outage ? 'with an outage' : 'without an outage'}${probe ? ` (${probe.ok}/${probe.total} requests answered)` : ''}`,
    );
  },
});
