import { z } from 'zod';
import type { CheckDefinition, Evidence, Finding } from '@labgrader/core';
import type { ClusterContext } from '../context.js';
import { evidence, finding, workloadLocation } from './shared.js';

export const deploysReadyOptions = z.strictObject({});
export type DeploysReadyOptions = z.infer<typeof deploysReadyOptions>;

export const deploysReady: CheckDefinition<ClusterContext, DeploysReadyOptions> = {
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
  check(context) {
    const findings: Finding[] = [];
    const ev: Evidence[] = [];
    const subjects: string[] = [];
    const { deploy } = context;
    // What the grading cluster does not apply, or applies changed, to keep the lab inside its namespaces.
    for (const refused of context.plan.refused) {
      subjects.push(refused.subject);
      findings.push(
        finding(deploysReady, {
          message: `${refused.subject} was not applied: ${refused.reason}`,
          location: refused.location,
          subject: refused.subject,
          fixHint:
            'A lab’s objects are namespaced objects in the lab’s own namespaces; see docs/security.md for what the grading cluster refuses and why.',
        }),
      );
    }
    for (const changed of context.plan.changes) {
      findings.push(
        finding(deploysReady, {
          severity: 'info',
          message: `${changed.subject}: ${changed.change}`,
          location: changed.location,
          subject: changed.subject,
        }),
      );
    }
    const failedObjects = new Set(deploy.applyFailures.map((f) => f.object.source));
    for (const failure of deploy.applyFailures) {
      subjects.push(failure.object.subject);
      findings.push(
        finding(deploysReady, {
          message: `kubectl apply rejected ${failure.object.subject}: ${failure.message}`,
          location: failure.object.source.startLocation(),
          subject: failure.object.subject,
        }),
      );
    }
    for (const outcome of deploy.workloads) {
      const w = outcome.planned;
      if (failedObjects.has(w.source)) continue;
      subjects.push(w.subject);
      if (outcome.ready) {
        ev.push(
          evidence(
            deploysReady,
            'ready',
            `${w.subject}: ${outcome.readyReplicas}/${outcome.desired} Ready ${outcome.readySeconds ?? 0} s after kubectl apply`,
            workloadLocation(w),
          ),
        );
        continue;
      }
      const summary = `${w.subject} did not become Ready within ${deploy.timeoutSeconds} s (${outcome.readyReplicas}/${outcome.desired} pods Ready)`;
      if (outcome.diagnoses.length === 0) {
        findings.push(
          finding(deploysReady, { message: `${summary}.`, location: workloadLocation(w), subject: w.subject }),
        );
      }
      for (const d of outcome.diagnoses) {
        findings.push(
          finding(deploysReady, { message: `${summary}: ${d.message}`, location: d.location, subject: w.subject }),
        );
      }
      if (outcome.events.length > 0)
        ev.push(evidence(deploysReady, 'events', outcome.events.join('\n'), workloadLocation(w)));
    }
    return {
      findings,
      evidence: ev,
      examined: subjects.length,
      passed: subjects.length - new Set(findings.filter((f) => f.severity !== 'info').map((f) => f.subject)).size,
    };
  },
};
