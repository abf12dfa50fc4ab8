import { z } from 'zod';
import { asArray, asRecord } from '../model/object.js';
import { allContainers } from '../model/workloads.js';
import { containerLocation, podSpecLocation } from './support/helpers.js';
import { defineRule, hint } from './support/rule.js';

export const securityContext = defineRule({
  id: 'lint/security-context',
  title: 'Containers follow the restricted security baseline',
  rationale:
    'A container that runs as root, can write its root filesystem, can gain privileges or keeps Linux capabilities turns an application bug into a node compromise. These four settings are what the Pod Security "restricted" profile enforces.',
  severity: 'warning',
  fixHint: hint(
    'Run as a non-root user (pod level is inherited by every container), and lock down each container; mount an emptyDir where the app must write.',
    `
spec:
  securityContext:            # pod level: inherited by all containers
    runAsNonRoot: true
    runAsUser: 10001
    seccompProfile: { type: RuntimeDefault }
  containers:
    - name: web
      securityContext:        # container level only
        allowPrivilegeEscalation: false
        readOnlyRootFilesystem: true
        capabilities:
          drop: ["ALL"]`,
  ),
  docsUrl: 'https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted',
  options: z
    .object({
      requireRunAsNonRoot: z.boolean().default(true),
      /** Accept an explicit non-zero runAsUser as proof of non-root even without runAsNonRoot. */
      acceptNonZeroRunAsUser: z.boolean().default(true),
      requireReadOnlyRootFilesystem: z.boolean().default(true),
      requireNoPrivilegeEscalation: z.boolean().default(true),
      requireDropAll: z.boolean().default(true),
      /** Capabilities that may be added back after dropping ALL. */
      allowedCapabilities: z.array(z.string()).default(['NET_BIND_SERVICE']),
      /** Also require seccompProfile RuntimeDefault or Localhost (pod or container level). */
      requireSeccompProfile: z.boolean().default(false),
    })
    .strict(),
  run(context, options, reporter) {
    for (const workload of context.index.workloads) {
      const pod = asRecord(workload.podSpec.securityContext);
      for (const container of allContainers(workload)) {
        reporter.examine(container.subject);
        const sc = asRecord(container.value.securityContext);
        const who = `${container.init ? 'Init container' : 'Container'} "${container.name}" of ${workload.subject}`;
        const missing: string[] = [];
        const wrong = (field: (string | number)[], message: string) =>
          reporter.report({
            subject: container.subject,
            message: `${who} ${message}`,
            location: containerLocation(container, ['securityContext', ...field]),
          });

        if (options.requireRunAsNonRoot) {
          // Container settings override the pod's.
          const nonRoot = sc.runAsNonRoot ?? pod.runAsNonRoot;
          const user = sc.runAsUser ?? pod.runAsUser;
          if (nonRoot === true && user === 0) {
            const where =
              sc.runAsUser !== undefined
                ? containerLocation(container, ['securityContext', 'runAsUser'])
                : podSpecLocation(workload, ['securityContext', 'runAsUser']);
            reporter.report({
              subject: container.subject,
              severity: 'error',
              message: `${who} sets runAsNonRoot with runAsUser 0: the kubelet refuses to start it`,
              location: where,
            });
          } else if (nonRoot === false) {
            const where =
              sc.runAsNonRoot !== undefined
                ? containerLocation(container, ['securityContext', 'runAsNonRoot'])
                : podSpecLocation(workload, ['securityContext', 'runAsNonRoot']);
            reporter.report({
              subject: container.subject,
              message: `${who} explicitly allows running as root (runAsNonRoot: false)`,
              location: where,
            });
          } else if (nonRoot !== true && !(options.acceptNonZeroRunAsUser && typeof user === 'number' && user > 0)) {
            if (user === 0) {
              const where =
                sc.runAsUser !== undefined
                  ? containerLocation(container, ['securityContext', 'runAsUser'])
                  : podSpecLocation(workload, ['securityContext', 'runAsUser']);
              reporter.report({
                subject: container.subject,
                message: `${who} runs as root (runAsUser: 0)`,
                location: where,
              });
            } else missing.push('runAsNonRoot: true');
          }
        }
        if (options.requireReadOnlyRootFilesystem) {
          if (sc.readOnlyRootFilesystem === false)
            wrong(
              ['readOnlyRootFilesystem'],
              'sets readOnlyRootFilesystem: false; mount an emptyDir where the app writes instead',
            );
          else if (sc.readOnlyRootFilesystem !== true) missing.push('readOnlyRootFilesystem: true');
        }
        if (options.requireNoPrivilegeEscalation) {
          if (sc.allowPrivilegeEscalation === true)
            wrong(['allowPrivilegeEscalation'], 'sets allowPrivilegeEscalation: true');
          else if (sc.allowPrivilegeEscalation !== false) missing.push('allowPrivilegeEscalation: false');
        }
        if (options.requireDropAll) {
          const caps = asRecord(sc.capabilities);
          const drop = asArray(caps.drop).map(String);
          if (!drop.includes('ALL')) {
            if (drop.some((d) => d.toUpperCase() === 'ALL'))
              wrong(
                ['capabilities', 'drop'],
                'drops "all" in lower case; capability names are upper case: drop ["ALL"]',
              );
            else missing.push('capabilities.drop: ["ALL"]');
          }
          asArray(caps.add).forEach((cap, i) => {
            if (!options.allowedCapabilities.includes(String(cap)))
              wrong(['capabilities', 'add', i], `adds the capability ${String(cap)}`);
          });
        }
        if (options.requireSeccompProfile) {
          const type = asRecord(sc.seccompProfile).type ?? asRecord(pod.seccompProfile).type;
          if (type !== 'RuntimeDefault' && type !== 'Localhost')
            missing.push('seccompProfile: { type: RuntimeDefault }');
        }
        if (missing.length > 0) {
          reporter.report({
            subject: container.subject,
            message: `${who} does not set ${missing.join(', ')}`,
            location: containerLocation(container, ['securityContext'], 'key'),
          });
        }
      }
    }
  },
});
