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

  it('finds labels inside a paragraph by the words of the headings, in French as in English', async () => {
    // The paragraph of a real French submission (exp-fr): four parts in one paragraph, each after a label.
    const story = (
      label: string,
      learned = 'avec une seule réplique (comme result-frontend) le service aurait été coupé ; il faut au moins deux répliques et une PodDisruptionBudget pour les services exposés.',
    ) =>
      [
        '## Analyse de panne contrôlée',
        '',
        "Nous avons supprimé volontairement un pod de sample-api avec `kubectl delete pod -n labotrack sample-api-7c9d8b6f5-x2k4q` pendant qu'un `curl` en boucle interrogeait le frontend. Observation : `kubectl get pods -n labotrack -w` montre le pod en `Terminating`, puis un nouveau pod en `ContainerCreating` puis `Running` après environ 25 secondes ; `kubectl get events` affiche `Killing` puis `Scheduled` et `Pulled`. Pendant ce temps, la deuxième réplique a continué à répondre et le curl n'a retourné aucune erreur 5xx. Rétablissement : le ReplicaSet a recréé le pod automatiquement et la readiness probe l'a remis dans le Service une fois prêt. " +
          `${label} ${learned}`,
      ].join('\n');
    const labels: [written: string, shown: string][] = [
      ['Leçon apprise :', 'Leçon apprise'],
      ['Leçons apprises :', 'Leçons apprises'],
      ['Ce que nous avons appris :', 'Ce que nous avons appris'],
      ['Ce qu’on a appris :', 'Ce qu’on a appris'],
      ['Enseignements :', 'Enseignements'],
      ["Retour d'expérience :", "Retour d'expérience"],
      ['Retour d’expérience :', 'Retour d’expérience'],
      ['À retenir :', 'À retenir'],
      ['A RETENIR :', 'A RETENIR'],
      ['Conclusion :', 'Conclusion'],
      ['**Leçon apprise :**', 'Leçon apprise'],
      ['*Bilan* —', 'Bilan'],
      ['Lesson learned :', 'Lesson learned'],
    ];
    for (const [written, shown] of labels) {
      const outcome = await analyse(story(written), { requireEvidence: false });
      expect([written, found(outcome), missing(outcome)]).toEqual([
        written,
        [
          "performed@3: found by keywords 'supprime', 'kubectl delete', 'killing'",
          "observed@3: found by label 'Observation'",
          "recovery@3: found by label 'Rétablissement'",
          `learned@3: found by label '${shown}'`,
        ],
        [],
      ]);
    }
    // Template text or a few words after the label are not the part.
    for (const empty of ['à compléter.', 'TODO: à compléter plus tard.', 'voir plus haut.']) {
      const outcome = await analyse(story('Leçon apprise :', empty), { requireEvidence: false });
      expect([empty, missing(outcome)]).toEqual([empty, ['1 learned']]);
    }
  });

  it('reads one label a line in a paragraph, and only part labels end the text of the one before', async () => {
    const notes = [
      '## Analyse de panne',
      '',
      'Ce qu’on a cassé : nous avons mis une mauvaise image sur le Deployment web.',
      'Constatations : les pods sont passés en ImagePullBackOff pendant deux minutes.',
      'Remise en service : le pod est revenu. Durée : 25 s.',
      'Retours d’expérience : vérifier le tag avant le déploiement, toujours.',
    ].join('\n');
    const outcome = await analyse(notes, { requireEvidence: false });
    expect([found(outcome), missing(outcome)]).toEqual([
      [
        "performed@3: found by label 'Ce qu’on a cassé'",
        "observed@4: found by label 'Constatations'",
        "recovery@5: found by label 'Remise en service'",
        "learned@6: found by label 'Retours d’expérience'",
      ],
      [],
    ]);
  });

  it('does not count a French sub-heading without words, or a label in the middle of a sentence', async () => {
    const notes = [
      '## Analyse de panne',
      '',
      '### Ce que nous avons cassé',
      '',
      'Nous avons supprimé le pod web avec kubectl delete pod.',
      '',
      '### Leçons apprises',
      '',
      '### Observations',
      '',
      'Le pod est passé en Terminating puis un nouveau pod a démarré, la leçon apprise : rien.',
    ].join('\n');
    const outcome = await analyse(notes, { requireEvidence: false });
    expect(missing(outcome)).toEqual(['1 recovery', '1 learned']);
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
