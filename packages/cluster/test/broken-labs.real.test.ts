/**
 * Broken labs graded for real, through the CLI, each on a kind cluster of
 * its own (the offline node image): the passing example with one thing
 * wrong (test/helpers/broken-labs.ts). For each, the fair outcome:
 *
 *  - the exact points of the two cluster criteria of rubrics/lab-85.yaml
 *    (runs-in-cluster 5, survives-failure 15);
 *  - one finding per cause, on the line to fix, with the whole reason; the
 *    drills the cause makes meaningless earn nothing and say why, without
 *    findings of their own;
 *  - a failure that cannot recover is not waited for until the time-out:
 *    the stage says it stopped waiting, and why. Durations are printed, not
 *    asserted.
 *
 * Runs only where the offline node image and a Docker engine are present
 * (.ci/run prepares them); otherwise it says so loudly and is skipped.
 */
import { expect, it } from '@jest/globals';
import type { Report } from '@labgrader/core';
import { BROKEN_LABS, writeBrokenLab, type BrokenLab } from './helpers/broken-labs.js';
import {
  KIND,
  KIND_ENV,
  clusterFindings,
  clusterPoints,
  evidence,
  grade,
  kindClusterContainers,
  measured,
  real,
  rubricWith,
  run,
  work,
} from './helpers/real-cluster.js';

async function gradeBroken(lab: BrokenLab): Promise<Report> {
  const prefix = `lgt-${lab.name.slice(0, 12).replace(/-$/, '')}`;
  const rubric = rubricWith(`broken-${lab.name}`, [
    ['target: { type: kind }', `target: { type: kind, clusterNamePrefix: ${prefix} }`],
  ]);
  const started = Date.now();
  const { code, report } = await grade(writeBrokenLab(lab, work), ['--cluster', 'kind', '--rubric', rubric], KIND_ENV);
  const job = ((Date.now() - started) / 1000).toFixed(1);
  console.log(
    `${lab.name}: ${JSON.stringify(clusterPoints(report))}, job ${job} s, ${measured(report)}\n  ${clusterFindings(report).join('\n  ')}\n  ${[...evidence(report, 'stopped-waiting'), ...evidence(report, 'steady-state')].join('\n  ')}`,
  );
  expect(code).toBe(0);
  expect(report.status).toBe('graded');
  // The cluster is gone (this job's: others may run the same test at the same time).
  const name = new RegExp(`^deleted kind cluster (${prefix}-[0-9a-f]{6}) in [\\d.]+ s$`).exec(
    evidence(report, 'cleanup')[0] ?? '',
  )?.[1];
  expect(name).toBeDefined();
  expect(kindClusterContainers()).not.toContain(name);
  expect(run(KIND, ['get', 'clusters']).stdout.split('\n')).not.toContain(name);
  return report;
}

/** The summary of the survives-failure criterion: every drill check not meaningful, because of `cause`. */
function notMeaningful(report: Report, cause: string): void {
  const survives = report.criteria.find((c) => c.id === 'survives-failure')!;
  for (const check of survives.checks) {
    expect(check.summary).toMatch(/not meaningful, no credit \(/);
    expect(check.summary).toContain(cause);
  }
}

real('broken labs on kind: one cause, one finding, the fair points, no pointless waiting', () => {
  it('a liveness probe on a path that answers 404: Ready, then restarted; found at livenessProbe', async () => {
    const report = await gradeBroken(BROKEN_LABS.livenessNotFound);
    // deploys-ready (weight 2) fails, the Service answered: 5 × 1/3. Nothing the drills measured counts.
    expect(clusterPoints(report)).toEqual({ 'runs-in-cluster': 1.67, 'survives-failure': 0 });
    expect(clusterFindings(report)).toEqual([
      expect.stringMatching(
        /^error cluster\/deploys-ready k8s\/deployment\.yaml:71 Deployment lab85\/web became Ready but did not stay Ready: The liveness probe of container "web" of Deployment lab85\/web fails \(HTTP probe failed with statuscode: 404\), so the kubelet restarted the container \d+ times? in the \d+ s after its pods were Ready\.$/,
      ),
    ]);
    expect(evidence(report, 'steady-state')).toEqual([
      expect.stringMatching(
        /^watched the Ready workloads for [\d.]+ s after they were Ready, the drills included \((the liveness probe of container "web" of Deployment lab85\/web failed \d+ times? \(kubelet's counter\)|the kubelet reported: Liveness probe failed for container "web" of Deployment lab85\/web), so at least the restart window, 41 s: .*\): Deployment lab85\/web restarted \d+ times? by itself$/,
      ),
    ]);
    notMeaningful(report, 'the cause is reported once, by cluster/deploys-ready at k8s/deployment.yaml:71');
  }, 600_000);

  it.each([
    [BROKEN_LABS.targetPortNothing, ''],
    [
      BROKEN_LABS.noReadinessTargetPortNothing,
      '; the pods have no readiness probe, so Kubernetes counts them Ready as soon as they start, whether they answer or not',
    ],
  ])(
    'a Service whose targetPort points at nothing (%#): found at targetPort, the drills not run',
    async (lab, note) => {
      const report = await gradeBroken(lab);
      // deploys-ready passes (its pods are Ready), the Service never answered: 5 × 2/3.
      expect(clusterPoints(report)).toEqual({ 'runs-in-cluster': 3.33, 'survives-failure': 0 });
      expect(clusterFindings(report)).toEqual([
        expect.stringMatching(
          new RegExp(
            `^error cluster/service-availability k8s/service\\.yaml:15 Service lab85/web never answered although its pods were Ready \\(\\d+ requests in [\\d.]+ s, then labgrader stopped waiting: the state is terminal\\): Service lab85/web sends its requests to targetPort 8081 of its 3 ready endpoints, where nothing answers \\(last: curl exit 7 \\(connection refused\\)\\): the pods' containers declare http \\(8080\\), metrics \\(9090\\)${note.replace(/[().,]/g, '\\$&')}\\.$`,
          ),
        ),
      ]);
      expect(evidence(report, 'stopped-waiting')).toEqual([
        expect.stringMatching(
          /^stopped waiting for the Service after [\d.]+ s \(\d+ requests\): the state is terminal, PortNotDeclared$/,
        ),
      ]);
      // Nothing was drilled; the pods were still watched for their liveness probe.
      expect(evidence(report, 'pod-kill')).toEqual([]);
      expect(evidence(report, 'steady-state')[0]).toMatch(
        /\(every liveness probe answered \(the kubelet counted \d+ successful liveness results? of container "web" of Deployment lab85\/web, none failed\)\): no container restarted by itself$/,
      );
      notMeaningful(
        report,
        'Service lab85/web never answered; the cause is reported once, by cluster/service-availability at k8s/service.yaml:15',
      );
    },
    600_000,
  );

  it('an image that cannot be pulled: one finding at image:, with the reason to its end; not waited for 180 s', async () => {
    const report = await gradeBroken(BROKEN_LABS.imageCannotBePulled);
    expect(clusterPoints(report)).toEqual({ 'runs-in-cluster': 0, 'survives-failure': 0 });
    const findings = clusterFindings(report);
    expect(findings).toEqual([
      expect.stringMatching(
        /^error cluster\/deploys-ready k8s\/deployment\.yaml:44 Deployment lab85\/web did not become Ready \(0\/3 pods Ready after [\d.]+ s; labgrader stopped waiting: the state is terminal\): The image "ghcr\.io\/labgrader-examples\/lab85-web:1\.0\.1" of container "web" of Deployment lab85\/web cannot be pulled \((ErrImagePull|ImagePullBackOff): failed to pull and unpack image "ghcr\.io\/labgrader-examples\/lab85-web:1\.0\.1": .+\)\.$/,
      ),
    ]);
    // The cause, not cut off before it: the node cannot resolve the registry.
    expect(findings[0]).toMatch(/lookup ghcr\.io .*(i\/o timeout|no such host|server misbehaving)/);
    expect(evidence(report, 'stopped-waiting')).toEqual([
      expect.stringMatching(
        /^stopped waiting after [\d.]+ s: the state of Deployment lab85\/web is terminal: the image of container "web" cannot be pulled \(\d+ failed pulls\) and the kubelet is backing off \(ImagePullBackOff\)$/,
      ),
    ]);
    notMeaningful(report, 'the cause is reported once, by cluster/deploys-ready at k8s/deployment.yaml:44');
  }, 600_000);

  it('a memory limit the pod cannot start in: one finding at limits.memory, not "did not become Ready" at line 1', async () => {
    const report = await gradeBroken(BROKEN_LABS.memoryTooLow);
    expect(clusterPoints(report)).toEqual({ 'runs-in-cluster': 0, 'survives-failure': 0 });
    expect(clusterFindings(report)).toEqual([
      expect.stringMatching(
        /^error cluster\/deploys-ready k8s\/deployment\.yaml:70 Deployment lab85\/web did not become Ready \(0\/3 pods Ready after [\d.]+ s; labgrader stopped waiting: the state is terminal\): The pods of Deployment lab85\/web cannot start: the container runtime cannot create their sandbox within the memory limit \(limits\.memory 1Mi of container "web"\), which is too low: Failed to create pod sandbox: .*container init was OOM-killed \(memory limit too low\?\).*\.$/,
      ),
    ]);
    expect(evidence(report, 'stopped-waiting')).toEqual([
      expect.stringMatching(
        /^stopped waiting after [\d.]+ s: the state of Deployment lab85\/web is terminal: the container runtime cannot create its pods' sandbox within their memory limit \(\d+ attempts\)$/,
      ),
    ]);
    notMeaningful(report, 'the cause is reported once, by cluster/deploys-ready at k8s/deployment.yaml:70');
  }, 600_000);

  it('a container that exits on every start: one finding at the container, with its last output; not waited for', async () => {
    const report = await gradeBroken(BROKEN_LABS.crashLoop);
    expect(clusterPoints(report)).toEqual({ 'runs-in-cluster': 0, 'survives-failure': 0 });
    expect(clusterFindings(report)).toEqual([
      expect.stringMatching(
        /^error cluster\/deploys-ready k8s\/deployment\.yaml:43 Deployment lab85\/web did not become Ready \(0\/3 pods Ready after [\d.]+ s; labgrader stopped waiting: the state is terminal\): container "web" of Deployment lab85\/web keeps crashing \(CrashLoopBackOff, last exit: Error, exit code 1; \d+ restarts?\); its last output: .*listen tcp :8080: bind: address already in use\.$/,
      ),
    ]);
    expect(evidence(report, 'stopped-waiting')).toEqual([
      expect.stringMatching(
        /^stopped waiting after [\d.]+ s: the state of Deployment lab85\/web is terminal: container "web" exits the same way on every start \(CrashLoopBackOff, Error, exit code 1, \d+ times\)$/,
      ),
    ]);
    notMeaningful(report, 'the cause is reported once, by cluster/deploys-ready at k8s/deployment.yaml:43');
  }, 600_000);
});
