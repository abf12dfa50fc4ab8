/**
 * The failure drills as timelines, read from drill evidence written by the
 * cluster checks' own code (support/drill-evidence.ts).
 */
import { describe, expect, it } from '@jest/globals';
import { parseHTML } from 'linkedom';
import type { Report } from '@labgrader/core';
import { describeTimeline, drillTimelines, drillsHtml, kindOf } from '../src/drills.js';
import { podKillEvidence, readinessGateEvidence, recoveryDrillsEvidence } from './support/drill-evidence.js';

const report = (evidence: Report['evidence'], clusterMessage?: string) =>
  ({
    evidence,
    stages: [
      {
        name: 'cluster',
        status: 'skipped',
        startedAt: '',
        durationMs: 0,
        ...(clusterMessage ? { message: clusterMessage } : {}),
      },
    ],
  }) as unknown as Report;

describe('drill timelines', () => {
  it('reads a recovery drill: injected, Ready again at the recovery time, probe success and longest outage', () => {
    const [d, ...rest] = drillTimelines(report(podKillEvidence()));
    expect(rest).toEqual([]);
    expect(d).toMatchObject({
      scenario: 'pod-kill',
      checkId: 'cluster/pod-kill-recovery',
      recoverySeconds: 8.4,
      probe: { ok: 57, total: 60, percent: 95, longestOutageSeconds: 2.1, via: 'node curl' },
    });
    expect(d!.marks).toEqual([
      { at: 0, label: 'fault injected', kind: 'injected' },
      { at: 8.4, label: 'desired pods Ready again', kind: 'ready' },
    ]);
    expect(d!.details.map((x) => x.label)).toEqual(['commands', 'events']);
    expect(describeTimeline(d!)).toBe(
      'pod-kill: fault injected at +0 s, desired pods Ready again at +8.4 s; the Service answered 57 of 60 requests (95%), longest outage 2.1 s',
    );
  });

  it("reads a watching drill's own timeline (injected → NotReady) and says when it did not recover", () => {
    const [d] = drillTimelines(report(readinessGateEvidence()));
    expect(d!.scenario).toBe('readiness-gate');
    expect(d!.marks.map((m) => [m.at, m.kind])).toEqual([
      [0, 'injected'],
      [10.5, 'not-ready'],
      [40, 'event'],
    ]);
    expect(d!.recoverySeconds).toBeUndefined();
    expect(d!.probe).toMatchObject({ ok: 62, total: 80, percent: 77.5, longestOutageSeconds: 10.4 });
    expect(describeTimeline(d!)).toMatch(/did not recover; the Service answered 62 of 80/);
  });

  it('pod kill and container kill, as the cluster stage records them: injected → NotReady → Ready again', async () => {
    const [podKill, containerKill, ...rest] = drillTimelines(report(await recoveryDrillsEvidence()));
    expect(rest).toEqual([]);
    expect(podKill).toMatchObject({ scenario: 'pod-kill', recoverySeconds: 2, notReadySeconds: 0.5 });
    expect(podKill!.marks.map((m) => [m.at, m.kind, m.label])).toEqual([
      [0, 'injected', 'pod web-abc-a1 deleted (kubectl delete pod --wait=false)'],
      [0.5, 'not-ready', 'pod web-abc-a1 NotReady: Terminating, no longer a ready endpoint of the Service'],
      [0.5, 'event', 'replacement web-abc-d4 created'],
      [2, 'event', 'replacement web-abc-d4 Ready on labgrader-000001-control-plane'],
      [2, 'ready', '3/3 pods Ready again'],
      [
        2,
        'event',
        'pod web-abc-a1 still Terminating (its graceful shutdown goes on outside the Service; not waited for)',
      ],
    ]);
    expect(containerKill).toMatchObject({ scenario: 'container-kill', recoverySeconds: 2.5, notReadySeconds: 0.5 });
    expect(containerKill!.marks.map((m) => [m.at, m.kind])).toEqual([
      [0, 'injected'],
      [0.5, 'not-ready'],
      [0.5, 'event'],
      [2.5, 'ready'],
    ]);
    expect(containerKill!.marks[1]!.label).toBe(
      "pod web-abc-b2 NotReady (Ready: False): out of the Service's ready endpoints",
    );
    // The timeline is not left among the details; the NotReady moment is a fact of its own, and starts the bar.
    expect(podKill!.details.map((x) => x.label)).toEqual(['commands', 'events']);
    const markup = drillsHtml(report(await recoveryDrillsEvidence())).text;
    const { document } = parseHTML(`<!doctype html><html><body>${markup}</body></html>`);
    const [first, second] = [...document.querySelectorAll('li.drill')];
    expect(first!.querySelector('.drill-facts')!.textContent!.replace(/\s+/g, ' ')).toContain(
      'NotReady 0.5 s after the fault was injected Recovery 2 s',
    );
    expect(second!.querySelector('svg')!.getAttribute('aria-label')).toContain(
      "pod web-abc-b2 NotReady (Ready: False): out of the Service's ready endpoints at +0.5 s",
    );
    const bar = first!.querySelector('rect[fill="#fde68a"]')!;
    const injected = first!.querySelectorAll('circle')[0]!;
    expect(Number(bar.getAttribute('x'))).toBeGreaterThan(Number(injected.getAttribute('cx')));
  });

  it("leaves out the deploy's and the stage's own evidence (recorded under cluster/deploys-ready): they are not drills", async () => {
    const stage = [
      {
        checkId: 'cluster/deploys-ready',
        label: 'ready',
        detail: 'Deployment lab85/web: 3/3 Ready 4 s after kubectl apply',
      },
      { checkId: 'cluster/deploys-ready', label: 'steady-state', detail: 'watched the Ready workloads for 60 s' },
      { checkId: 'cluster/deploys-ready', label: 'cleanup', detail: 'deleted kind cluster labgrader-0b3055 in 2.1 s' },
    ];
    const drills = drillTimelines(report([...stage, ...(await recoveryDrillsEvidence())]));
    expect(drills.map((d) => d.scenario)).toEqual(['pod-kill', 'container-kill']);
  });

  it('classifies the watching drills’ wording', () => {
    expect(kindOf('node lab-worker declared lost (Ready: Unknown): its kubelet stopped renewing its lease', 3)).toBe(
      'not-ready',
    );
    expect(kindOf('2/2 pods Ready on the other nodes', 31)).toBe('ready');
    expect(kindOf('pod web-1 Ready again', 12)).toBe('ready');
    expect(kindOf('replacement web-2 created', 4)).toBe('event');
  });

  it('draws each drill as an SVG with its text alternative, the marks as a list, and the numbers', () => {
    const markup = drillsHtml(report([...podKillEvidence(), ...readinessGateEvidence()])).text;
    const { document } = parseHTML(`<!doctype html><html><body>${markup}</body></html>`);
    const drills = [...document.querySelectorAll('li.drill')];
    expect(drills).toHaveLength(2);
    const svg = drills[0]!.querySelector('svg[role="img"]')!;
    expect(svg.getAttribute('aria-label')).toContain('desired pods Ready again at +8.4 s');
    expect(svg.querySelectorAll('circle')).toHaveLength(2);
    expect(drills[0]!.querySelector('.drill-facts')!.textContent!.replace(/\s+/g, ' ')).toContain(
      'Probe success 57/60 requests (95%) Longest outage 2.1 s',
    );
    expect([...drills[1]!.querySelectorAll('ol.marks li')].map((li) => li.textContent)).toEqual([
      '+0 s: pod web-1 (10.244.1.5, node lab-worker) stops accepting connections',
      '+10.5 s: pod web-1 not Ready: its readiness probe fails',
      '+40 s: fault lifted: connections to pod web-1 are accepted again',
    ]);
    expect(drills[1]!.querySelector('.drill-facts')!.textContent).toContain('did not recover in time');
  });

  it('says why no drill ran (the cluster stage skipped) for a report without drill evidence', () => {
    const markup = drillsHtml(report([], 'no cluster in the dashboard tests')).text;
    expect(markup).toContain('No failure drill ran (no cluster in the dashboard tests).');
    expect(markup).not.toContain('<svg');
  });
});
