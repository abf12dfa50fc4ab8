/**
 * What the lint checks read: the objects found, the problems met while
 * finding them (reported by lint/yaml-valid and lint/render), and lookups.
 */
import type { Severity, SourceLocation } from '@labgrader/core';
import type { ObjectIndex } from './model/index.js';
import type { KubeObject } from './model/object.js';
import type { KubeSchema } from './schema/kubernetes.js';
import type { LintSettings } from './settings.js';

/** A problem discovery met; the owning check turns it into a finding. */
export interface DiscoveryProblem {
  /** The check that reports it. */
  checkId: 'lint/yaml-valid' | 'lint/render';
  severity: Severity;
  message: string;
  location: SourceLocation;
  subject: string;
  /** For a renderer that is not installed: exactly how to install it (the not-gradable hint). */
  installHint?: string;
}

export interface LintContext {
  settings: LintSettings;
  objects: readonly KubeObject[];
  /** Files that held at least one object. */
  files: readonly string[];
  /** Manifest files examined (parsed or rendered), for "examined" counts. */
  examinedFiles: readonly string[];
  /** Kustomizations and charts found (rendered or not). */
  renderTargets: readonly string[];
  problems: readonly DiscoveryProblem[];
  index: ObjectIndex;
  schema: KubeSchema;
}
