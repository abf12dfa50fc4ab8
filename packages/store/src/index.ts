export type {
  ClusterRun,
  CriterionScore,
  DashboardStore,
  LabInfo,
  LabOverviewQuery,
  LabOverviewRow,
  LabStatistics,
  PushBucket,
  StudentKey,
  DeadlineJudgement,
  LabQuery,
  Page,
  GradeMetadata,
  ReportKey,
  ReportPage,
  ReportQuery,
  ReportStore,
  StoredReport,
  StoredReportSummary,
} from './port.js';
export {
  DEFAULT_STORE_SCHEMA,
  clusterRan,
  createPostgresReportStore,
  type PostgresReportStore,
  type PostgresStoreOptions,
} from './postgres.js';
export { MIGRATIONS, type Migration } from './migrations.js';
