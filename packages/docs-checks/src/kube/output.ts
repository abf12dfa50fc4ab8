/**
 * Is this kubectl output real? A pasted `kubectl get pods` table is the best
 * evidence a failure analysis can show, so it is also the easiest to fake.
 * Real output has a known header, rows with one value per column (kubectl
 * aligns them with tabwriter: at least two spaces apart), values of the right
 * shape in each column (READY `1/1`, a pod STATUS, RESTARTS a count, AGE a
 * duration) and, for pods, names made from a workload of the manifests
 * (`web-7c9f8d6b5d-x2x7q` from Deployment `web`, `db-0` from StatefulSet `db`).
 *
 * `analyseTables` finds the tables of a code block and judges each one:
 * plausible, implausible (with the reasons, certain: not real output), or
 * unknown names (the shape is right but the names are not the manifests':
 * possibly another lab's output; an instructor should look).
 */
import type { KubeObjectRef } from '@labgrader/core';

export interface TableVerdict {
  kind: string;
  /** 1-based line of the header inside the block. */
  line: number;
  rows: number;
  verdict: 'plausible' | 'implausible' | 'unknown-names';
  /** Why it is implausible, or which names are unknown. */
  reasons: string[];
  /** Names in the table that belong to the manifests' objects. */
  known: string[];
}

type ColumnCheck = (value: string) => boolean;

const DURATION = /^(?:\d+(?:\.\d+)?(?:ms|[smhdy])){1,3}$|^<(?:invalid|unknown)>$/;
const COUNT = /^\d+$/;
const RESTARTS = /^\d+(?: \(\S+ ago\))?$/;
const READY = /^(\d+)\/(\d+)$/;
const POD_STATUS = new Set(
  [
    'Running',
    'Pending',
    'Succeeded',
    'Failed',
    'Unknown',
    'Completed',
    'Terminating',
    'ContainerCreating',
    'PodInitializing',
    'CrashLoopBackOff',
    'ImagePullBackOff',
    'ErrImagePull',
    'ErrImageNeverPull',
    'InvalidImageName',
    'CreateContainerConfigError',
    'CreateContainerError',
    'RunContainerError',
    'OOMKilled',
    'Error',
    'Evicted',
    'NodeLost',
    'Init:0/1',
    'Unschedulable',
    'ContainerStatusUnknown',
  ].map((s) => s.toLowerCase()),
);

const readyOk: ColumnCheck = (v) => {
  const m = READY.exec(v);
  return m !== null && Number(m[1]) <= Number(m[2]) && Number(m[2]) > 0;
};
const statusOk: ColumnCheck = (v) => POD_STATUS.has(v.toLowerCase()) || /^Init:/.test(v) || /^Init:\d+\/\d+$/.test(v);
const any: ColumnCheck = () => true;
const dnsName: ColumnCheck = (v) => /^[a-z0-9](?:[-a-z0-9.]*[a-z0-9])?$/.test(v) && v.length <= 253;

interface TableSpec {
  kind: string;
  /** Header columns, upper case, as kubectl prints them. */
  columns: readonly string[];
  /** Checks per column (by name); absent columns are free text. */
  checks: Record<string, ColumnCheck>;
  /** Which manifest kinds the NAME column names, and how. */
  names?: 'pods' | readonly string[];
}

const SPECS: readonly TableSpec[] = [
  {
    kind: 'pods',
    columns: ['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE'],
    checks: {
      NAME: dnsName,
      READY: readyOk,
      STATUS: statusOk,
      RESTARTS: (v) => RESTARTS.test(v),
      AGE: (v) => DURATION.test(v),
    },
    names: 'pods',
  },
  {
    kind: 'deployments',
    columns: ['NAME', 'READY', 'UP-TO-DATE', 'AVAILABLE', 'AGE'],
    checks: {
      NAME: dnsName,
      READY: readyOk,
      'UP-TO-DATE': (v) => COUNT.test(v),
      AVAILABLE: (v) => COUNT.test(v),
      AGE: (v) => DURATION.test(v),
    },
    names: ['Deployment'],
  },
  {
    kind: 'replicasets',
    columns: ['NAME', 'DESIRED', 'CURRENT', 'READY', 'AGE'],
    checks: {
      NAME: dnsName,
      DESIRED: (v) => COUNT.test(v),
      CURRENT: (v) => COUNT.test(v),
      READY: (v) => COUNT.test(v),
      AGE: (v) => DURATION.test(v),
    },
    names: 'pods',
  },
  {
    kind: 'statefulsets',
    columns: ['NAME', 'READY', 'AGE'],
    checks: { NAME: dnsName, READY: readyOk, AGE: (v) => DURATION.test(v) },
    names: ['StatefulSet'],
  },
  {
    kind: 'services',
    columns: ['NAME', 'TYPE', 'CLUSTER-IP', 'EXTERNAL-IP', 'PORT(S)', 'AGE'],
    checks: {
      NAME: dnsName,
      TYPE: (v) => /^(ClusterIP|NodePort|LoadBalancer|ExternalName)$/.test(v),
      'CLUSTER-IP': (v) => /^(None|[0-9.]+|[0-9a-f:]+)$/.test(v),
      AGE: (v) => DURATION.test(v),
    },
    names: ['Service'],
  },
  {
    kind: 'events',
    columns: ['LAST SEEN', 'TYPE', 'REASON', 'OBJECT', 'MESSAGE'],
    checks: { 'LAST SEEN': (v) => DURATION.test(v) || v === '<unknown>', TYPE: (v) => /^(Normal|Warning)$/.test(v) },
  },
  {
    kind: 'describe events',
    columns: ['TYPE', 'REASON', 'AGE', 'FROM', 'MESSAGE'],
    checks: { TYPE: (v) => /^(Normal|Warning)$/.test(v) },
  },
  {
    kind: 'hpa',
    columns: ['NAME', 'REFERENCE', 'TARGETS', 'MINPODS', 'MAXPODS', 'REPLICAS', 'AGE'],
    checks: {
      NAME: dnsName,
      MINPODS: (v) => COUNT.test(v),
      MAXPODS: (v) => COUNT.test(v),
      REPLICAS: (v) => COUNT.test(v),
      AGE: (v) => DURATION.test(v),
    },
    names: ['HorizontalPodAutoscaler'],
  },
  {
    kind: 'nodes',
    columns: ['NAME', 'STATUS', 'ROLES', 'AGE', 'VERSION'],
    checks: {
      STATUS: (v) => /^(Not)?Ready(,SchedulingDisabled)?$|^Unknown$/.test(v),
      AGE: (v) => DURATION.test(v),
      VERSION: (v) => /^v\d+\.\d+/.test(v),
    },
  },
];

/** Header columns of a line, split on runs of two or more spaces (or tabs), with their offsets. */
function columnsOf(line: string): { name: string; at: number }[] {
  const out: { name: string; at: number }[] = [];
  const re = /\S+(?: \S+)*/g;
  for (const m of line.matchAll(re)) out.push({ name: m[0], at: m.index });
  return out;
}

function specFor(header: string): { spec: TableSpec; namespaced: boolean; extra: number } | undefined {
  const cols = columnsOf(header.replace(/\t/g, '   ')).map((c) => c.name);
  const namespaced = cols[0] === 'NAMESPACE';
  const names = namespaced ? cols.slice(1) : cols;
  for (const spec of SPECS) {
    if (spec.columns.every((c, i) => names[i] === c))
      return { spec, namespaced, extra: names.length - spec.columns.length };
  }
  return undefined;
}

/**
 * A header that starts like one kubectl prints (NAME and the next column of a
 * known table) but is not it: columns left out or made up.
 */
function nearMiss(line: string): { spec: TableSpec; header: string } | undefined {
  const cols = columnsOf(line.replace(/\t/g, '   ')).map((c) => c.name);
  const names = cols[0] === 'NAMESPACE' ? cols.slice(1) : cols;
  if (names[0] !== 'NAME' || names.length < 2 || !names.every((c) => /^[A-Z][A-Z()-]*$/.test(c))) return undefined;
  const spec = SPECS.find((s) => s.columns[0] === 'NAME' && s.columns[1] === names[1]);
  return spec ? { spec, header: cols.join(' ') } : undefined;
}

/** Splits a row into values: by header offsets when aligned, else on runs of 2+ spaces. */
function rowValues(row: string, header: { name: string; at: number }[]): string[] | undefined {
  const aligned = header.every(
    (c, i) =>
      i === 0 ||
      (row[c.at - 1] === ' ' && row[c.at] !== undefined && row[c.at] !== ' ') ||
      (row.length <= c.at && i === header.length - 1),
  );
  if (aligned) {
    return header.map((c, i) => row.slice(c.at, i + 1 < header.length ? header[i + 1]!.at : undefined).trim());
  }
  const split = columnsOf(row).map((c) => c.name);
  return split.length === header.length ? split : undefined;
}

const POD_SUFFIX = {
  Deployment: /^-[a-z0-9]{6,10}-[a-z0-9]{5}$/,
  ReplicaSet: /^-[a-z0-9]{6,10}$/,
  StatefulSet: /^-\d+$/,
  DaemonSet: /^-[a-z0-9]{5}$/,
  Job: /^-[a-z0-9]{5}$/,
  CronJob: /^-\d{6,10}-[a-z0-9]{5}$/,
} as const;

/** The workload a pod (or ReplicaSet) name belongs to, if the manifests define it. */
function podOwner(name: string, objects: readonly KubeObjectRef[], replicaSets: boolean): string | undefined {
  for (const o of objects) {
    if (!(o.kind in POD_SUFFIX) || !name.startsWith(`${o.name}-`)) continue;
    const rest = name.slice(o.name.length);
    if (
      replicaSets
        ? o.kind === 'Deployment' && POD_SUFFIX.ReplicaSet.test(rest)
        : POD_SUFFIX[o.kind as keyof typeof POD_SUFFIX].test(rest)
    ) {
      return `${o.kind} ${o.name}`;
    }
  }
  return undefined;
}

const PROMPT = /^\s*(?:\$|#|>|PS[^>]*>|[\w.@-]+[:~][^$#]*[$#])?\s*(?:sudo\s+)?(?:kubectl|k|oc)\s/;

/** Judges every kubectl table in a code block. */
export function analyseTables(block: string, objects: readonly KubeObjectRef[]): TableVerdict[] {
  const lines = block.replace(/\r\n?/g, '\n').split('\n');
  const out: TableVerdict[] = [];
  for (let i = 0; i < lines.length; i++) {
    const found = specFor(lines[i]!.trim() === '' ? '' : lines[i]!.replace(/^\s+/, ''));
    if (!found) {
      const near = nearMiss(lines[i]!.trim());
      if (near) {
        out.push({
          kind: near.spec.kind,
          line: i + 1,
          rows: 0,
          verdict: 'implausible',
          reasons: [
            `has the header '${near.header}', which is not what kubectl prints (${near.spec.columns.join(' ')})`,
          ],
          known: [],
        });
      }
      continue;
    }
    const indent = lines[i]!.length - lines[i]!.replace(/^\s+/, '').length;
    const headerLine = lines[i]!.slice(indent).replace(/\t/g, '   ');
    const header = columnsOf(headerLine);
    const reasons: string[] = [];
    const known = new Set<string>();
    const unknown = new Set<string>();
    let rows = 0;
    let j = i + 1;
    for (; j < lines.length; j++) {
      const raw = lines[j]!;
      if (raw.trim() === '' || PROMPT.test(raw) || specFor(raw.trim())) break;
      rows++;
      const row = raw.slice(Math.min(indent, raw.length - raw.trimStart().length)).replace(/\t/g, '   ');
      const values = rowValues(row, header);
      if (!values) {
        reasons.push(`row ${rows} has ${columnsOf(row).length} columns where the header has ${header.length}`);
        continue;
      }
      const names = found.namespaced ? header.slice(1) : header;
      const offset = found.namespaced ? 1 : 0;
      for (const [c, name] of found.spec.columns.entries()) {
        const value = values[c + offset] ?? '';
        const check = found.spec.checks[name] ?? any;
        if (!check(value))
          reasons.push(`${name} '${value.slice(0, 30)}' in row ${rows} is not what kubectl prints there`);
      }
      void names;
      const name = values[offset] ?? '';
      if (objects.length > 0 && found.spec.names && dnsName(name)) {
        const owner =
          found.spec.names === 'pods'
            ? podOwner(name, objects, found.spec.kind === 'replicasets')
            : objects.find((o) => (found.spec.names as readonly string[]).includes(o.kind) && o.name === name) && name;
        if (owner) known.add(name);
        else unknown.add(name);
      }
    }
    if (rows === 0) reasons.push('the header has no rows under it');
    const verdict: TableVerdict = {
      kind: found.spec.kind,
      line: i + 1,
      rows,
      verdict: reasons.length > 0 ? 'implausible' : unknown.size > 0 ? 'unknown-names' : 'plausible',
      reasons:
        reasons.length > 0
          ? reasons.slice(0, 3)
          : [...unknown].slice(0, 4).map((n) => `'${n}' matches no workload of the manifests`),
      known: [...known],
    };
    out.push(verdict);
    i = j - 1;
  }
  return out;
}

/** Lines of a block that are kubectl commands (with or without a prompt). */
export function kubectlCommands(block: string): string[] {
  return block
    .split('\n')
    .filter((l) => PROMPT.test(l))
    .map((l) => l.trim());
}
