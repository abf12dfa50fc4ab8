import { describe, expect, it } from '@jest/globals';
import type { CheckOutcome } from '@labgrader/core';
import { prepare, run } from './helpers/grade.js';
import { memoryRepo } from './helpers/memory-repo.js';

async function analyse(notes: string, options: unknown = {}): Promise<CheckOutcome> {
  return run(await prepare(memoryRepo({ 'architecture-notes.md': notes })), 'docs/failure-analysis', options);
}

/** What each part was found by (the section selection has its own tests). */
const found = (o: CheckOutcome): string[] =>
  (o.evidence ?? []).filter((e) => e.label !== 'section').map((e) => `${e.label}@${e.location?.line}: ${e.detail}`);
const missing = (o: CheckOutcome): string[] => o.findings.map((f) => `${f.location?.line} ${f.subject}`);

const OUTPUT = [
  '```text',
  'LAST SEEN   TYPE      REASON      OBJECT              MESSAGE',
  '12s         Warning   BackOff     pod/web-abc         Back-off restarting failed container',
  '```',
];

describe('docs/failure-analysis', () => {
  it('finds the parts from labelled list items and paragraphs', async () => {
    const notes = [
      '# Notes',
      '',
      '## Chaos drill',
      '',
      '- **Experiment:** set the memory limit of web to 16Mi to force an OOM kill.',
      '- **Observed:** the pods restarted in a loop with status CrashLoopBackOff.',
      '',
      'Recovery: I reverted the limit and the Deployment rolled out healthy pods again.',
      '',
      '*Lessons learned* — limits must be measured under load before they are set.',
      '',
      ...OUTPUT,
    ].join('\n');
    const outcome = await analyse(notes);
    expect([outcome.passed, outcome.examined, missing(outcome)]).toEqual([5, 5, []]);
    expect(found(outcome)).toEqual([
      "performed@5: found by label 'Experiment'",
      "observed@6: found by label 'Observed'",
      "recovery@8: found by label 'Recovery'",
      "learned@10: found by label 'Lessons learned'",
      'evidence@12: text block of 2 lines: kubectl events output, events (BackOff, Back-off restarting)',
    ]);
  });

  it('falls back to keywords in prose, with a minimum of distinct hits', async () => {
    const notes = [
      '## Controlled failure',
      '',
      'I deleted the web pod with kubectl delete and killed the node.',
      'We observed errors in the logs while the pod was Pending.',
      'It recovered when the scheduler rescheduled it; all pods were back to ready.',
      'Next time I would add a PodDisruptionBudget; I learned that one replica is not enough.',
      '',
      '    $ kubectl get pods',
      '    web-abc   0/1   Pending   0   3s',
    ].join('\n');
    const outcome = await analyse(notes);
    expect([outcome.passed, missing(outcome)]).toEqual([5, []]);
    expect(found(outcome)[0]).toBe("performed@3: found by keywords 'deleted', 'kubectl delete', 'killed'");
    const strict = await analyse(notes, { minKeywordHits: 4 });
    expect(missing(strict)).toEqual(['1 performed', '1 recovery', '1 learned']);
  });

  it('does not count an empty sub-heading as the part', async () => {
    const notes = [
      '## Failure analysis',
      '',
      '### What I did',
      '',
      '### What I observed',
      '',
      'Pods went to CrashLoopBackOff and the logs showed errors.',
    ].join('\n');
    const outcome = await analyse(notes, { requireEvidence: false });
    expect([outcome.passed, outcome.examined]).toEqual([1, 4]);
    expect(missing(outcome)).toEqual(['1 performed', '1 recovery', '1 learned']);
    expect(outcome.findings[0]!.message).toBe(
      "The controlled failure analysis ('Failure analysis') does not say which failure was performed and how: add a sub-heading or a labelled paragraph for it.",
    );
  });

  it('wants kubectl commands or output as evidence, not any code block', async () => {
    const notes = [
      '## Failure analysis',
      '',
      'Text.',
      '',
      '```yaml',
      'resources:',
      '  limits: { memory: 16Mi }',
      '```',
    ].join('\n');
    const outcome = await analyse(notes);
    expect(missing(outcome)).toContain('5 evidence');
    expect(outcome.findings.find((f) => f.subject === 'evidence')?.message).toBe(
      'None of the 1 code block in the controlled failure analysis shows kubectl commands or their output (pod status, events).',
    );
  });

  it('reports a missing section once, and accepts configured parts and section names', async () => {
    const none = await analyse('# Notes\n\n## Architecture\n\nText.\n');
    expect([none.passed, none.examined, missing(none)]).toEqual([0, 5, ['1 section']]);
    const custom = await analyse('## Game day\n\n**Blast radius:** one pod out of three was affected.\n', {
      sectionPatterns: ['game day'],
      parts: [{ id: 'blast', title: 'the blast radius', patterns: ['blast radius'] }],
      requireEvidence: false,
    });
    expect([custom.passed, custom.examined]).toEqual([1, 1]);
  });
});
