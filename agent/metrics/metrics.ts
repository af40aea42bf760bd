/**
 * The agent's CloudWatch metrics (core/metrics.ts): `DatabaseCorruptionDetected` after every integrity
 * check, `JobFailed` when a job run by hand fails before phase 2, `RpoSeconds` after a hot-site commit,
 * `UnrepairedDamage` after the upkeep of a FULL/DIFFERENTIAL job. A metric that cannot be published is
 * logged, never fails the job (the backup matters more than its telemetry).
 */
import { type CloudWatchClient, PutMetricDataCommand, type StandardUnit } from '@aws-sdk/client-cloudwatch';
import { cloudWatchClient } from '#agent/aws/clients';
import type { Logger } from 'pino';
import { describeError } from '#core/errors';
import { CELL_DIMENSION, METRIC_NAMESPACE, type MetricName } from '#core/metrics';
import type { Settings } from '#core/settings';

/** Publishes one metric value. Never throws. */
export interface MetricsPublisher {
  publish(name: MetricName, value: number, unit?: StandardUnit): Promise<void>;
}

/** A publisher that drops everything (metrics disabled). */
export const NO_METRICS: MetricsPublisher = { publish: async () => undefined };

/**
 * CloudWatch publisher for the settings' region and `Cell`; with a hot-site stand-in endpoint (moto) it
 * publishes there too, so the local run exercises the same calls.
 */
export function createMetricsPublisher(settings: Settings, logger: Logger, client?: CloudWatchClient): MetricsPublisher {
  if (!settings.PublishMetrics) return NO_METRICS;
  const cloudwatch =
    client ??
cloudWatchClient(settings.HotSite, { maxAttempts: 2 });
  return {
    async publish(name, value, unit = 'Count') {
      try {
        await cloudwatch.send(
          new PutMetricDataCommand({
            Namespace: METRIC_NAMESPACE,
            MetricData: [{ MetricName: name, Value: value, Unit: unit, Timestamp: new Date(), Dimensions: [{ Name: CELL_DIMENSION, Value: settings.Cell }] }],
          }),
        );
      } catch (error) {
        logger.warn(`metric ${name} not published: ${describeError(error)}`);
      }
    },
  };
}
