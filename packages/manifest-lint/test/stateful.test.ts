/** The shared recognition of data stores (lint/replicas, lint/rolling-update, lint/database-exposed). */
import { describe, expect, it } from '@jest/globals';
import { DATA_STORES, dataStoreOfImage, imageName } from '../src/index.js';

describe('data-store images', () => {
  it.each([
    ['postgres', 'PostgreSQL'],
    ['postgres:16.4-alpine', 'PostgreSQL'],
    ['docker.io/library/postgres:16@sha256:0123456789abcdef', 'PostgreSQL'],
    ['registry.example.com:5000/mirror/bitnami/postgresql:15.4.0', 'PostgreSQL'],
    ['mysql:8.4', 'MySQL'],
    ['mariadb:11', 'MariaDB'],
    ['mongo:7.0', 'MongoDB'],
    ['redis:alpine', 'Redis'],
    ['valkey/valkey:8.0', 'Valkey'],
    ['cassandra:5', 'Cassandra'],
    ['docker.elastic.co/elasticsearch/elasticsearch:8.15.0', 'Elasticsearch'],
    ['opensearchproject/opensearch:2', 'OpenSearch'],
    ['rabbitmq:3-management', 'RabbitMQ'],
    ['confluentinc/cp-kafka:7.7.0', 'Kafka'],
    ['zookeeper:3.9', 'ZooKeeper'],
    ['registry.k8s.io/etcd:3.5.15-0', 'etcd'],
    ['quay.io/minio/minio:RELEASE.2024-10-13T13-34-11Z', 'MinIO'],
  ])('%s runs %s', (image, product) => {
    expect(dataStoreOfImage(image)?.product).toBe(product);
  });

  it.each([
    'quay.io/prometheuscommunity/postgres-exporter:v0.15.0',
    'oliver006/redis_exporter:v1.62.0',
    'ghcr.io/acme/web:1.0.0',
    'bitnami/kubectl:1.33',
    'ghcr.io/acme/postgres-migrations:2.0',
  ])('%s is not a data store', (image) => {
    expect(dataStoreOfImage(image)).toBeUndefined();
  });

  it('matches on the repository name, without registry, tag or digest', () => {
    expect(imageName('localhost:5000/Team/Postgres:16@sha256:abc')).toBe('postgres');
    // Every name is listed once, lower case.
    const names = DATA_STORES.flatMap((s) => s.images);
    expect(new Set(names).size).toBe(names.length);
    expect(names.every((n) => n === n.toLowerCase())).toBe(true);
  });
});
