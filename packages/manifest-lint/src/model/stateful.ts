/**
 * Stateful workloads, recognised once for every rule that needs to know
 * (lint/replicas, lint/rolling-update, lint/database-exposed...):
 *
 * - data stores, by the image of the workload's first container: a data-driven table of well-known database,
 *   cache, queue, search and coordination images, matched on the image's
 *   repository name whatever the registry, namespace, tag or digest
 *   (`postgres:16`, `docker.io/bitnami/postgresql:15.4.0@sha256:…`,
 *   `registry.k8s.io/etcd:3.5.15-0`);
 * - StatefulSets with volumeClaimTemplates (each pod owns a volume);
 * - workloads mounting a ReadWriteOnce (or ReadWriteOncePod) claim that the
 *   repository defines: one node at a time can attach it.
 *
 * Such a workload is a *stateful singleton* unless the software replicates
 * itself: more replicas do not add availability (two Postgres processes do
 * not share a data directory; a second pod cannot attach the volume).
 */
import type { KubeObject } from './object.js';
import { asArray, asRecord, asString, isRecord } from './object.js';
import type { Path } from '../yaml/parse.js';
import type { Container, Workload } from './workloads.js';

export type DataStoreCategory =
  'database' | 'cache' | 'message broker' | 'search engine' | 'coordination service' | 'object store';

export interface DataStore {
  /** Product name as people say it. */
  product: string;
  category: DataStoreCategory;
  /** Image repository names (the last path segment, lower case) that run it. */
  images: readonly string[];
  /** Whether the software replicates its data itself once configured (a cluster of replicas is then right). */
  replicates: string;
}

/**
 * The table. Names are exact last path segments, so exporters and clients
 * (`postgres-exporter`, `redis_exporter`, `mysql-client`) never match.
 */
export const DATA_STORES: readonly DataStore[] = [
  {
    product: 'PostgreSQL',
    category: 'database',
    images: [
      'postgres',
      'postgresql',
      'postgis',
      'pgvector',
      'timescaledb',
      'timescaledb-ha',
      'postgresql-repmgr',
      'spilo',
      'spilo-15',
      'spilo-16',
      'spilo-17',
      'crunchy-postgres',
    ],
    replicates: 'streaming replication, set up by an operator such as CloudNativePG or by Patroni',
  },
  {
    product: 'MySQL',
    category: 'database',
    images: ['mysql', 'mysql-server', 'percona', 'percona-server', 'percona-xtradb-cluster'],
    replicates: 'group replication, set up by the MySQL or Percona operator',
  },
  {
    product: 'MariaDB',
    category: 'database',
    images: ['mariadb', 'mariadb-galera'],
    replicates: 'Galera or replication, set up by the MariaDB operator',
  },
  {
    product: 'MongoDB',
    category: 'database',
    images: ['mongo', 'mongodb', 'mongodb-community-server', 'mongodb-enterprise-server', 'percona-server-mongodb'],
    replicates: 'a replica set, set up by the MongoDB operator',
  },
  {
    product: 'Redis',
    category: 'cache',
    images: ['redis', 'redis-stack', 'redis-stack-server', 'keydb'],
    replicates: 'Redis replication with Sentinel, or Redis Cluster',
  },
  {
    product: 'Valkey',
    category: 'cache',
    images: ['valkey', 'valkey-bundle'],
    replicates: 'replication with Sentinel, or Valkey Cluster',
  },
  {
    product: 'Dragonfly',
    category: 'cache',
    images: ['dragonfly'],
    replicates: 'its replication, set up by the Dragonfly operator',
  },
  { product: 'Cassandra', category: 'database', images: ['cassandra', 'scylla'], replicates: 'its own ring of nodes' },
  {
    product: 'CockroachDB',
    category: 'database',
    images: ['cockroach'],
    replicates: 'its own Raft replication across 3 or more nodes',
  },
  {
    product: 'ClickHouse',
    category: 'database',
    images: ['clickhouse-server', 'clickhouse'],
    replicates: 'ReplicatedMergeTree with Keeper',
  },
  { product: 'InfluxDB', category: 'database', images: ['influxdb'], replicates: 'InfluxDB Enterprise clustering' },
  { product: 'Neo4j', category: 'database', images: ['neo4j'], replicates: 'a Neo4j cluster' },
  { product: 'CouchDB', category: 'database', images: ['couchdb'], replicates: 'CouchDB clustering' },
  {
    product: 'Elasticsearch',
    category: 'search engine',
    images: ['elasticsearch'],
    replicates: 'shard replicas across a cluster of nodes, set up by ECK',
  },
  {
    product: 'OpenSearch',
    category: 'search engine',
    images: ['opensearch'],
    replicates: 'shard replicas across a cluster of nodes',
  },
  {
    product: 'RabbitMQ',
    category: 'message broker',
    images: ['rabbitmq'],
    replicates: 'quorum queues in a cluster, set up by the RabbitMQ cluster operator',
  },
  {
    product: 'Kafka',
    category: 'message broker',
    images: ['kafka', 'cp-kafka', 'cp-server', 'kafka-native'],
    replicates: 'topic replication across brokers, set up by Strimzi',
  },
  { product: 'NATS JetStream', category: 'message broker', images: ['nats'], replicates: 'JetStream clustering' },
  {
    product: 'ZooKeeper',
    category: 'coordination service',
    images: ['zookeeper', 'cp-zookeeper'],
    replicates: 'an ensemble of 3 or 5',
  },
  { product: 'etcd', category: 'coordination service', images: ['etcd'], replicates: 'a Raft cluster of 3 or 5' },
  {
    product: 'MinIO',
    category: 'object store',
    images: ['minio'],
    replicates: 'erasure-coded distributed mode over 4 or more drives',
  },
];

const BY_IMAGE = new Map<string, DataStore>(DATA_STORES.flatMap((store) => store.images.map((name) => [name, store])));

/**
 * The repository name an image runs, lower case, without registry, tag or
 * digest: `docker.io/bitnami/postgresql:16@sha256:…` → `postgresql`.
 */
export function imageName(image: string): string {
  let rest = image.trim().toLowerCase();
  const at = rest.indexOf('@');
  if (at >= 0) rest = rest.slice(0, at);
  const slash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > slash) rest = rest.slice(0, colon);
  return rest.slice(rest.lastIndexOf('/') + 1);
}

/** The data store an image runs, if it is a well-known one. */
export function dataStoreOfImage(image: string): DataStore | undefined {
  return BY_IMAGE.get(imageName(image));
}

export type SingleAttachMode = 'ReadWriteOnce' | 'ReadWriteOncePod';

export interface SingleAttachClaim {
  claim: string;
  mode: SingleAttachMode;
  pvc: KubeObject;
  /** Path of the volume's `claimName` in the workload. */
  path: Path;
}

export interface StatefulFacts {
  /** The container running a well-known data store, and which. */
  dataStore?: { store: DataStore; container: Container; image: string };
  /** Claims defined in the repository that only one node (or pod) can mount at a time. */
  singleAttachClaims: SingleAttachClaim[];
  /** A StatefulSet with volumeClaimTemplates: each pod owns its volume. */
  claimTemplates: boolean;
  /** Any of the above: more replicas are not more availability unless the software replicates itself. */
  stateful: boolean;
}

/** What the claim lookup needs from the object index. */
export type FindClaim = (name: string, namespace: string | undefined) => KubeObject | undefined;

function singleAttachMode(pvc: KubeObject): SingleAttachMode | undefined {
  const modes = asArray(pvc.get(['spec', 'accessModes'])).map(String);
  if (modes.includes('ReadWriteOncePod')) return 'ReadWriteOncePod';
  // A claim that also allows ReadWriteMany or ReadOnlyMany may be bound as such: not single-attach.
  if (modes.includes('ReadWriteOnce') && !modes.includes('ReadWriteMany') && !modes.includes('ReadOnlyMany'))
    return 'ReadWriteOnce';
  return undefined;
}

export function statefulFacts(workload: Workload, findClaim: FindClaim): StatefulFacts {
  // The first container is what the workload is: a Postgres pod with an exporter next to it is a
  // database; a web app with a Redis cache sidecar is a web app (the cache is per pod).
  let dataStore: StatefulFacts['dataStore'];
  const main = workload.containers[0];
  const image = main ? asString(main.value.image) : undefined;
  const store = image ? dataStoreOfImage(image) : undefined;
  if (main && image && store) dataStore = { store, container: main, image };
  const singleAttachClaims: SingleAttachClaim[] = [];
  asArray(workload.podSpec.volumes).forEach((volume, i) => {
    if (!isRecord(volume)) return;
    const claim = asString(asRecord(volume.persistentVolumeClaim).claimName);
    if (!claim) return;
    const pvc = findClaim(claim, workload.object.namespace);
    const mode = pvc ? singleAttachMode(pvc) : undefined;
    if (pvc && mode)
      singleAttachClaims.push({
        claim,
        mode,
        pvc,
        path: [...workload.podSpecPath, 'volumes', i, 'persistentVolumeClaim', 'claimName'],
      });
  });
  const claimTemplates =
    workload.kind === 'StatefulSet' && asArray(workload.object.get(['spec', 'volumeClaimTemplates'])).length > 0;
  return {
    ...(dataStore ? { dataStore } : {}),
    singleAttachClaims,
    claimTemplates,
    stateful: dataStore !== undefined || singleAttachClaims.length > 0 || claimTemplates,
  };
}

/** "runs postgres:16.4 (PostgreSQL, a database) and mounts the ReadWriteOnce claim db-data". */
export function describeStateful(facts: StatefulFacts): string {
  const parts: string[] = [];
  if (facts.dataStore) {
    const { store, image } = facts.dataStore;
    parts.push(`runs ${image} (${store.product}, a ${store.category})`);
  }
  if (facts.singleAttachClaims.length > 0) {
    const claims = facts.singleAttachClaims;
    parts.push(
      `mounts the ${claims[0]!.mode} claim${claims.length === 1 ? '' : 's'} ${claims.map((c) => c.claim).join(', ')}`,
    );
  } else if (facts.claimTemplates) {
    parts.push('keeps its data on volumeClaimTemplates');
  }
  return parts.join(' and ');
}
