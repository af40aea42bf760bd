/**
 * Phase 1's checks before anything is written (SPEC §4.2): the database opens, and the hot-site answers. An
 * unreachable hot-site does not stop the job (issue 16): the SET is still committed in the phase-1 destination and the
 * next job re-fills the hot-site from it.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { HeadBucketCommand } from '@aws-sdk/client-s3';
import type { Logger } from 'pino';
import { describeError } from '#core/errors';
import type { Settings } from '#core/settings';
import { ssmClient } from '#agent/aws/clients';
import { openEngine } from '#agent/engines/index';
import type { DatabaseEngine } from '#agent/engines/types';
import { abortStaleUploads, hotSiteError, listHotSiteSets } from '#agent/hotsite/hot-site';

/**
 * Opens the CommServe database, retrying a server that does not answer `DbRetryCount` × `DbRetryIntervalMinutes`
 * (SPEC §4.2 step 7).
 * @throws DatabaseError when it is missing, not a database of the engine, or never answers.
 */
export async function openDatabase(settings: Settings, logger: Logger): Promise<DatabaseEngine> {
  return openEngine(settings, {
    ...(settings.Database.engine === 'sqlserver' ? { ssm: ssmClient(settings.HotSite) } : {}),
    retry: {
      count: settings.DbRetryCount,
      intervalMs: settings.DbRetryIntervalMinutes * 60_000,
      onRetry: ({ attempt, attempts, delayMs, error }) =>
        logger.warn(`database unreachable (attempt ${attempt} of ${attempts}): ${describeError(error)}; retrying in ${Math.round(delayMs / 1000)} s`),
    },
  });
}

/** The hot-site as phase 1 found it. */
export type HotSiteState =
  | { reachable: true; /** Job ids of the SETs there (complete or not). */ jobIds: number[] }
  | { reachable: false; /** Why, naming the bucket or endpoint (no credentials). */ reason: string; code: string };

/**
 * Checks the bucket answers, aborts the multipart uploads a killed job left under `sets/` (we hold the phase-1 lock)
 * and lists the SETs there. Never throws: an unreachable or refusing hot-site is a state the job handles.
 */
export async function checkHotSite(s3: S3Client, bucket: string, endpoint: string | undefined, logger: Logger): Promise<HotSiteState> {
  try {
    try {
      await s3.send(new HeadBucketCommand({ Bucket: bucket }));
    } catch (error) {
      throw hotSiteError('reach the bucket', bucket, error);
    }
    const aborted = await abortStaleUploads(s3, bucket);
    if (aborted.length > 0) logger.warn({ aborted }, `aborted ${aborted.length} multipart upload(s) left by an interrupted job`);
    return { reachable: true, jobIds: (await listHotSiteSets(s3, bucket)).map((s) => s.jobId) };
  } catch (error) {
    const where = endpoint ? ` at ${endpoint}` : '';
    return { reachable: false, reason: `${describeError(error)}${where}`, code: (error as { code?: string }).code ?? 'HOTSITE_ERROR' };
  }
}
