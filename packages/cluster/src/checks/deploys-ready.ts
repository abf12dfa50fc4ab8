import { z } from 'zod';
import { defineCheck } from '@labgrader/core';
import type { ClusterContext } from '../context.js';
import { workloadLocation } from './shared.js';

export const deploysReadyOptions = z.strictObject({});
export type DeploysReadyOptions = z.infer<typeof deploysReadyOptions>;

export const deploysReady = defineCheck<ClusterContext, DeploysReadyOptions>({
  id: 'cluster/deploys-ready',
  stage: 'cluster',
  title: 'The manifests apply to a fresh cluster and every workload becomes Ready',
  rationale:
    'Manifests that pass review can still fail in a cluster: an image that cannot be pulled, a container that crashes, a readiness probe on the wrong path, a missing ConfigMap key, requests no node can satisfy. Deploying to a fresh cluster shows it before production does.',
  severity: 'error',
  fixHint: [
    'Reproduce it locally, then read what the cluster says about the pods:',
    '',
    '```sh',
    'kind create cluster',
    'kubectl apply -f k8s/',
    'kubectl get pods -A',
    'kubectl describe pod <pod>        # events: pull errors, probe failures, scheduling',
    'kubectl logs <pod> --previous     # why a container crashed',
    '```',
  ].join('\n'),
  docsUrl: 'https://kubernetes.io/docs/tasks/debug/debug-application/debug-pods/',
  options: deploysReadyOptions,
  run(context, _options, reporter) {
    const { deploy } = context;
    // What the grading cluster does not apply, or applies changed, to keep the lab inside its namespaces.
    for (const refused of context.plan.refused) {
      reporter.examine(refused.subject);
      reporter.report({
        message: `${refused.subject} was not applied: ${refused.reason}`,
        location: refused.location,
        subject: refused.subject,
        fixHint:
          'A lab’s objects are namespaced objects in the lab’s own namespaces; see docs/security.md for what the grading cluster refuses and why.',
      });
    }
    for (const changed of context.plan.changes) {
      reporter.report({
        severity: 'info',
        message: `${changed.subject}: ${changed.change}`,
        location: changed.location,
        subject: changed.subject,
      });
    }
    const failedObjects = new Set(deploy.applyFailures.map((f) => f.object.source));
    for (const failure of deploy.applyFailures) {
      reporter.examine(failure.object.subject);
      reporter.report({
        message: `kubectl apply rejected ${failure.object.subject}: ${failure.message}`,
        location: failure.object.source.startLocation(),
        subject: failure.object.subject,
      });
    }
    for (const outcome of deploy.workloads) {
      const w = outcome.planned;
      if (failedObjects.has(w.source)) continue;
      reporter.examine(w.subject);
      if (outcome.ready) {
        reporter.evidence(
          'ready',
          `${w.subject}: ${outcome.readyReplicas}/${outcome.desired} Ready ${outcome.readySeconds ?? 0} s after kubectl apply`,
          workloadLocation(w),
        );
        // Ready is a moment: what the stage saw afterwards (its liveness probe restarting it, crashes, OOM kills).
        for (const d of outcome.afterReady ?? []) {
          reporter.report({
            message: `${w.subject} became Ready but did not stay Ready: ${d.message}`,
            location: d.location,
            subject: w.subject,
          });
        }
        continue;
      }
      const stopped = outcome.terminal !== undefined ? deploy.stoppedWaiting : undefined;
      const summary = stopped
        ? `${w.subject} did not become Ready (${outcome.readyReplicas}/${outcome.desired} pods Ready after ${stopped.afterSeconds} s; labgrader stopped waiting: the state is terminal)`
        : `${w.subject} did not become Ready within ${deploy.timeoutSeconds} s (${outcome.readyReplicas}/${outcome.desired} pods Ready)`;
      if (outcome.diagnoses.length === 0) {
        reporter.report({ message: `${summary}.`, location: workloadLocation(w), subject: w.subject });
      }
      for (const d of outcome.diagnoses) {
        reporter.report({ message: `${summary}: ${d.message}`, location: d.location, subject: w.subject });
      }
      if (outcome.events.length > 0) reporter.evidence('events', outcome.events.join('\n'), workloadLocation(w));
    }
  },
});
