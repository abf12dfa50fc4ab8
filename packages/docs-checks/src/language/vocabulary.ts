/**
 * The words the docs checks recognise, per topic and per language: section
 * headings ("Controlled failure analysis", "Analyse de panne"), the parts of
 * a failure story and the labels students give them ("What I observed", "Ce
 * que j'ai observé"), the words that tell the story in prose, and template
 * text. English and French are built in; a rubric adds languages or synonyms
 * in `stages.docs.settings.vocabulary` (see settings.ts).
 *
 * Terms are regular expressions matched on WHOLE WORDS of text folded by
 * `foldText` (lower case, accents removed, apostrophes and punctuation turned
 * into spaces): `fault` matches "fault" and "faults" only if written
 * `faults?`, never "default". Write stems explicitly (`fail\p{L}*`).
 */

export const TOPICS = [
  'architecture',
  'components',
  'configuration',
  'resources',
  'failure',
  'rollback',
  'diagram',
  'performed',
  'observed',
  'recovery',
  'learned',
] as const;
export type Topic = (typeof TOPICS)[number];

/** The failure story's parts, in the order a failure analysis tells them. */
export const FAILURE_PARTS = ['performed', 'observed', 'recovery', 'learned'] as const;
export type FailurePartId = (typeof FAILURE_PARTS)[number];

export type TermTable = Partial<Record<string, readonly string[]>>;

/** "Ce que j'ai", "ce que nous avons", "ce qu'on a", folded (apostrophes are spaces). */
const CE_QUE_FR = 'ce qu(?:e j ai|e nous avons|e l on a| on a)';

/** Heading and label terms per topic. */
export const HEADING_TERMS: Record<Topic, TermTable> = {
  architecture: {
    en: ['architectur\\p{L}*', 'overview', 'design', 'system context', 'big picture'],
    fr: ['architectur\\p{L}*', 'vue d ensemble', 'conception', 'apercu', 'presentation generale'],
  },
  components: {
    en: ['components?', 'workloads?', 'building blocks', 'what runs', 'moving parts'],
    fr: ['composants?', 'charges? de travail', 'elements', 'ce qui tourne', 'briques'],
  },
  configuration: {
    en: ['config\\p{L}*', 'secrets?', 'environment variables', 'settings', 'credentials'],
    fr: ['config\\p{L}*', 'secrets?', 'variables d environnement', 'parametr\\p{L}*', 'identifiants'],
  },
  resources: {
    en: [
      'resources?',
      'limits?',
      'requests',
      'probes?',
      'health ?checks?',
      'liveness',
      'readiness',
      'capacity',
      'sizing',
    ],
    fr: ['ressources?', 'limites?', 'requetes', 'sondes?', 'probes?', 'verifications? de sante', 'dimensionnement'],
  },
  failure: {
    en: [
      'fail\\p{L}*',
      'chaos',
      'incidents?',
      'outages?',
      'faults?',
      'fault injection',
      'post ?mortem',
      'drills?',
      'disaster',
      'resilience test\\p{L}*',
    ],
    fr: [
      'pannes?',
      'defaillances?',
      'incidents?',
      'chaos',
      'echecs?',
      'post ?mortem',
      'tests? de resilience',
      'exercices? de panne',
      'simulation de panne',
    ],
  },
  rollback: {
    en: ['roll ?backs?', 'rolling back', 'revert\\p{L}*', 'undo', 'recovery plan', 'rollout strategy'],
    fr: [
      'retour arriere',
      'retours? en arriere',
      'revenir en arriere',
      'plan de reprise',
      'restauration',
      'annulation',
      'roll ?backs?',
    ],
  },
  diagram: {
    en: ['diagrams?', 'architecture', 'overview'],
    fr: ['diagrammes?', 'schemas?', 'architecture'],
  },
  performed: {
    en: [
      'what (i|we) (did|broke|changed|injected|tested|ran)',
      '(failure|fault|chaos) (performed|injected|scenario|experiment|injection)',
      '(the )?(experiment|scenario|procedure|steps|injection|setup|hypothesis|actions?|what was broken)',
      'how (i|we) (broke|caused|triggered|injected)',
      '(the )?failure',
      'break',
    ],
    fr: [
      `${CE_QUE_FR} (fait|casse|modifie|injecte|teste|lance|provoque|simule|supprime|arrete|change)`,
      '(la )?(panne|experience|experimentation|scenario|procedure|protocole|etapes|injection|manipulation|hypothese|actions?)',
      'mode operatoire',
      'mise en (oeuvre|œuvre|place)',
      '(panne|defaillance) (provoquee|injectee|simulee)',
      'comment (j ai|nous avons|on a) (casse|provoque|declenche)',
    ],
  },
  observed: {
    en: [
      'observ\\p{L}*',
      'symptoms?',
      'what (happened|we saw|i saw)',
      'impact',
      'detect\\p{L}*',
      'results?',
      'timeline',
    ],
    fr: [
      'observ\\p{L}*',
      `${CE_QUE_FR} (observe|vu|constate|remarque)`,
      'symptomes?',
      'ce qui s est passe',
      'impacts?',
      'consequences?',
      'detection',
      'resultats?',
      'chronologie',
      'constat\\p{L}*',
    ],
  },
  recovery: {
    en: [
      'recover\\p{L}*',
      'restor\\p{L}*',
      'resolution',
      'resolv\\p{L}*',
      'mitigat\\p{L}*',
      'remediat\\p{L}*',
      'fix\\p{L}*',
      'roll(ed)? ?back',
      'self ?heal\\p{L}*',
      'came back',
    ],
    fr: [
      'retabli\\p{L}*',
      'recuperation',
      'restauration',
      'resolution',
      'correct\\p{L}*',
      'remediation',
      'retour (a la normale|en service)',
      'reprise',
      'remise en (service|etat|route)',
      'auto ?guerison',
      'comment (le service|l application|le systeme|il|elle) s est (retabli|retablie|remis|remise|retrouve)',
      'reparation',
    ],
  },
  learned: {
    en: [
      'learn\\p{L}*',
      'lessons?',
      'takeaways?',
      'conclusions?',
      'improv\\p{L}*',
      'next time',
      'follow ?ups?',
      'retro\\p{L}*',
      'reflections?',
      'what (i|we) would (change|do differently)',
      'action items',
    ],
    fr: [
      `${CE_QUE_FR} appris`,
      'ce que (je|j en|nous|nous en) ret(ie|e)n\\p{L}*',
      'lecons?',
      'enseignements?',
      'conclusions?',
      'ameliorations?',
      'la prochaine fois',
      'retours? d experiences?',
      'rex',
      'recommandations?',
      'bilan',
      'reflexions?',
      'a retenir',
    ],
  },
};

/** Words that tell a failure story in prose (a part is found by two of them when it has no heading or label). */
export const STORY_TERMS: Record<FailurePartId, TermTable> = {
  performed: {
    en: [
      'kubectl (delete|scale|drain|cordon|set|edit|patch|apply|rollout|exec)',
      'delet(ed|ing)',
      'kill(ed|ing)',
      'scaled?',
      'drain(ed)?',
      'cordon(ed)?',
      'inject(ed|ing)?',
      'simulat(ed|e|ing)',
      'broke',
      'break',
      'remov(ed|e|ing)',
      'wrong (image|tag|port|secret|password|config)',
      'introduc(ed|e)',
      'trigger(ed)?',
      'changed',
    ],
    fr: [
      'supprim\\p{L}*',
      'tu(e|ee|é)',
      'arret\\p{L}*',
      'cass\\p{L}*',
      'inject\\p{L}*',
      'simul\\p{L}*',
      'provoqu\\p{L}*',
      'declench\\p{L}*',
      'modifi\\p{L}*',
      'retir\\p{L}*',
      'mauvais(e)? (image|tag|port|secret|mot de passe)',
      'introdui\\p{L}*',
      'lanc(e|ee|é)',
    ],
  },
  observed: {
    en: [
      'observ(ed|ing)',
      'notic(ed|e)',
      'saw',
      'crashloopbackoff',
      'oomkilled',
      'imagepullbackoff',
      'errimagepull',
      'pending',
      'terminating',
      'restart(s|ed)?',
      'events?',
      'logs?',
      '50[0234]',
      'errors?',
      'unavailable',
      'not ready',
      'downtime',
      'latency',
    ],
    fr: [
      'observ\\p{L}*',
      'constat\\p{L}*',
      'remarqu\\p{L}*',
      'vu',
      'crashloopbackoff',
      'oomkilled',
      'imagepullbackoff',
      'errimagepull',
      'redemarr\\p{L}*',
      'evenements?',
      'journaux',
      'logs?',
      'erreurs?',
      'indisponib\\p{L}*',
      'coupure',
      'interruption',
      'latence',
    ],
  },
  recovery: {
    en: [
      'recover(ed|y|s|ing)?',
      'restor(ed|e|ing)',
      'rolled back',
      'rollout undo',
      'self ?heal\\p{L}*',
      'rescheduled',
      'replaced',
      'recreated',
      'came back',
      'back to (normal|ready|running|healthy)',
      'fixed',
      'resolved',
    ],
    fr: [
      'retabli\\p{L}*',
      'recuper\\p{L}*',
      'restaur\\p{L}*',
      'rollout undo',
      'corrig\\p{L}*',
      'resolu\\p{L}*',
      'revenu\\p{L}*',
      'recre\\p{L}*',
      'remplac\\p{L}*',
      'relanc\\p{L}*',
      'replanifi\\p{L}*',
      'retour a la normale',
    ],
  },
  learned: {
    en: [
      'learn(ed|t|ing)?',
      'lessons?',
      'takeaways?',
      'next time',
      'would',
      'should',
      'improv(e|ed|ement|ements)',
      'in (the )?future',
      'conclu(de|ded|sion)',
      'realiz(ed|e)',
    ],
    fr: [
      'appris',
      'apprendre',
      'lecons?',
      'retenu',
      'a l avenir',
      'la prochaine fois',
      'aurai(s|t) du',
      'il faudrait',
      'amelior\\p{L}*',
      'conclu\\p{L}*',
      'compris',
      'enseignements?',
    ],
  },
};

/** Modal words of a hypothetical text ("what would happen if…"): a failure analysis reports what happened. */
export const HYPOTHETICAL_TERMS: TermTable = {
  en: ['would', 'could', 'might', 'if', 'suppose', 'imagine', 'hypothetically', 'in theory'],
  fr: ['si', 'pourrai\\p{L}*', 'serai\\p{L}*', 'aurai\\p{L}*', 'devrai\\p{L}*', 'imaginons', 'supposons', 'en theorie'],
};

/** A heading that asks a question rather than names a section ("Is a Secret encrypted by default?"). */
export const QUESTION_START: TermTable = {
  en: [
    'what (would|could|if|happens|will)',
    'how (would|could|does|do|can)',
    'is',
    'are',
    'does',
    'do',
    'can',
    'should',
    'would',
    'why',
  ],
  fr: [
    'que se passe\\p{L}*',
    'qu arrive\\p{L}*',
    'et si',
    'est ce que',
    'peut on',
    'faut il',
    'comment (faire|ferait|pourrait)',
    'pourquoi',
  ],
};

/**
 * Template text that must not survive into a submission, matched on the raw
 * prose (case-insensitive, not folded, so `TODO` keeps its word boundaries).
 */
export const PLACEHOLDER_TERMS: TermTable = {
  en: [
    '\\bTODO\\b',
    '\\bTBD\\b',
    '\\bFIXME\\b',
    '\\blorem ipsum\\b',
    '\\b(describe|explain|list|summari[sz]e|document|outline) (your|here)\\b',
    // Instructions left at the start of a sentence: "Describe the failure you injected…"
    '(?:^|(?<=[.!?:]\\s+))(describe|explain|list|summari[sz]e|outline|document) (the|how|what|why|which|any)\\b',
    '\\b(write|add|insert|put) (your|the) [^.\\n]{0,40}\\bhere\\b',
    '\\byour (text|answer|content|description|notes?) (goes )?here\\b',
    '<\\s*(fill[ -]?in|insert|add|your|describe|todo|tbd|placeholder)\\b[^>]{0,200}>',
    '\\[\\s*(fill[ -]?in|insert|your|todo|tbd|placeholder)\\b[^\\]]{0,200}\\]',
    '\\{\\{[^}]{0,200}\\}\\}',
    '\\bfill (this |me )?in\\b',
    '\\bplaceholder\\b',
    '\\bcoming soon\\b',
  ],
  fr: [
    '(?<![\\p{L}])[àa] (compl[ée]ter|remplir|r[ée]diger|faire|venir|d[ée]finir)(?![\\p{L}])',
    '(?:^|(?<=[.!?:]\\s+))(d[ée]cri(vez|re)|expliqu(ez|er)|list(ez|er)|r[ée]sum(ez|er)|d[ée]taill(ez|er)|pr[ée]sent(ez|er)) (ici|votre|vos|la|le|les|comment|ce|pourquoi|quel)(?![\\p{L}])',
    '(?<![\\p{L}])(votre|vos) (texte|r[ée]ponse|contenu|description|notes?) (va |vont )?ici(?![\\p{L}])',
    '(?<![\\p{L}])(ins[ée]rer|ajouter|mettre|[ée]crire|remplir) (ici|votre|vos)(?![\\p{L}])',
    '(?<![\\p{L}])en cours de r[ée]daction(?![\\p{L}])',
    '<\\s*([àa] compl[ée]ter|[àa] remplir|ins[ée]rer|votre|d[ée]crire)(?![\\p{L}])[^>]{0,200}>',
    '\\[\\s*([àa] compl[ée]ter|[àa] remplir|ins[ée]rer|votre)(?![\\p{L}])[^\\]]{0,200}\\]',
    '(?<![\\p{L}])texte (fictif|d exemple|bouche-trou)(?![\\p{L}])',
  ],
};

/** Lower case, accents removed, apostrophes, punctuation and symbols turned into single spaces. */
export function foldText(text: string): string {
  return text
    .normalize('NFD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
}

/** A heading folded, with leading numbering ("2.1", "II.", "Step 3:") removed. */
export function foldHeading(text: string): string {
  return foldText(text).replace(/^(?:(?:\d+|[ivxlc]+) )+/, '');
}

/** Folds a term written with accents or apostrophes the way text is folded (regex syntax kept). */
function foldTerm(term: string): string {
  // Not lower-cased: that would break escapes such as \p{L} (the patterns are case-insensitive instead).
  return term
    .normalize('NFD')
    .replace(/\p{M}+/gu, '')
    .replace(/['’]/g, ' ');
}

export interface TermMatch {
  /** The matched words. */
  text: string;
  index: number;
  /** Language of the term that matched. */
  language: string;
}

/** Compiled whole-word terms of several languages. */
export class TermMatcher {
  private readonly patterns: { re: RegExp; language: string }[];

  constructor(table: TermTable, languages: readonly string[], extra: readonly string[] = []) {
    this.patterns = [];
    for (const language of languages) {
      for (const term of table[language] ?? []) this.patterns.push({ re: wholeWords(foldTerm(term)), language });
    }
    // A rubric's own patterns (the `patterns` of a section) must start at a word but may end inside one:
    // `fail` matches "failure", `architect` "architecture", while `fault` no longer matches "default".
    for (const term of extra) {
      this.patterns.push({ re: new RegExp(`(?<![\\p{L}\\p{N}])(${foldTerm(term)})`, 'giu'), language: 'rubric' });
    }
  }

  get size(): number {
    return this.patterns.length;
  }

  /** Every match in folded text, leftmost first, overlapping matches once. */
  all(folded: string): TermMatch[] {
    const out: TermMatch[] = [];
    for (const { re, language } of this.patterns) {
      re.lastIndex = 0;
      for (const m of folded.matchAll(re)) {
        const text = m[1] ?? m[0];
        if (text.trim() === '') continue;
        out.push({ text: text.trim(), index: (m.index ?? 0) + m[0].indexOf(text), language });
      }
    }
    out.sort((a, b) => a.index - b.index || b.text.length - a.text.length);
    const kept: TermMatch[] = [];
    let end = -1;
    for (const m of out) {
      if (m.index < end) continue;
      kept.push(m);
      end = m.index + m.text.length;
    }
    return kept;
  }

  first(folded: string): TermMatch | undefined {
    return this.all(folded)[0];
  }

  test(folded: string): boolean {
    return this.patterns.some(({ re }) => {
      re.lastIndex = 0;
      return re.test(folded);
    });
  }
}

/**
 * A term as a whole-word pattern on folded text. Terms may carry their own
 * anchors (`^`): the boundary lookarounds keep them.
 */
function wholeWords(term: string): RegExp {
  // Folded text is lower-case words separated by single spaces (and line breaks), so word boundaries are
  // spaces and `\p{L}*` is `\S*`: no case-insensitive Unicode classes, which V8 is slow to compile.
  const body = term.replace(/\\p\{L\}/g, '[^\\s]');
  return new RegExp(`(?<=^|\\s)(${body})(?=\\s|$)`, 'g');
}

/** Whether a string is a valid pattern (for option schemas). */
export function isValidPattern(pattern: string): boolean {
  try {
    new RegExp(pattern, 'iu');
    return true;
  } catch {
    return false;
  }
}
