/**
 * Names of the custom CloudWatch metrics of the DR backup jobs (SPEC §4.1, §8), shared by the CDK
 * monitoring (alarms, dashboard, PutMetricData grants) and the publishers (ReportJob, the agent).
 * Pure: publishing is done by the callers.
 *
 * | metric | unit | published by | value |
 * |---|---|---|---|
 * | `DatabaseCorruptionDetected` | Count | agent | every integrity check: 1 = corrupt, 0 = clean |
 * | `JobSucceeded` | Count | ReportJob | 1 when the job ends Completed or Completed With One or More Errors |
 * | `JobFailed` | Count | ReportJob (and the agent, for a job run by hand that fails before phase 2) | 1 when the job ends Failed |
 * | `BytesProtected` | Bytes | ReportJob | size of the job's SET |
 * | `JobDurationSeconds` | Seconds | ReportJob | job start to report |
 * | `RpoSeconds` | Seconds | agent, after every job of any type commits its SET at the hot-site | age of the newest restorable point at the hot-site (SPEC §2, §4.5) |
 * | `UnrepairedDamage` | Count | agent, every FULL/DIFFERENTIAL job whose upkeep reached the hot-site | objects found damaged or missing at the hot-site that no copy could repair (issue 16 item 3); 0 = all intact or repaired |
 *
 * Every metric carries one dimension, `Cell` (the settings cell), so several CommServes can share an account.
 */

/** Namespace of the custom metrics. */
export const METRIC_NAMESPACE = 'CommServeDR';

/** Dimension every custom metric carries: the settings cell. */
export const CELL_DIMENSION = 'Cell';

/** Names of the custom metrics. */
export const DrMetricName = {
  DatabaseCorruptionDetected: 'DatabaseCorruptionDetected',
  JobSucceeded: 'JobSucceeded',
  JobFailed: 'JobFailed',
  BytesProtected: 'BytesProtected',
  JobDurationSeconds: 'JobDurationSeconds',
  RpoSeconds: 'RpoSeconds',
  UnrepairedDamage: 'UnrepairedDamage',
} as const;
export type DrMetricName = (typeof DrMetricName)[keyof typeof DrMetricName];
/** The custom metric names (alias of {@link DrMetricName}). */
export const MetricName = DrMetricName;
export type MetricName = DrMetricName;

/** Every custom metric name. */
export const METRIC_NAMES: readonly MetricName[] = Object.values(DrMetricName);

/** The dimensions a publisher sends with every custom metric: `[{Name: 'Cell', Value: cell}]`. */
export function metricDimensions(cell: string): Array<{ Name: string; Value: string }> {
  return [{ Name: CELL_DIMENSION, Value: cell }];
}
