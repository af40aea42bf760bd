/**
 * Test access to this jest worker's moto server (started by global setup).
 * `useMoto()` resets it before each test of the calling file and returns a getter for its endpoint.
 */
import { S3Client } from '@aws-sdk/client-s3';

/** The endpoint of this worker's moto server. */
export function motoEndpoint(): string {
  const endpoints: string[] = JSON.parse(process.env.COMMSERVE_DR_TEST_MOTO ?? '[]');
  if (endpoints.length === 0) throw new Error('no moto server: jest global setup did not run');
  const worker = Number(process.env.JEST_WORKER_ID ?? '1');
  return endpoints[(worker - 1) % endpoints.length];
}

/** Resets this worker's moto server (drops all buckets and objects). */
export async function resetMoto(): Promise<void> {
  const response = await fetch(`${motoEndpoint()}/moto-api/reset`, { method: 'POST' });
  if (!response.ok) throw new Error(`moto reset failed: HTTP ${response.status}`);
}

/** Registers a `beforeEach` that resets moto; returns the endpoint. */
export function useMoto(): { endpoint: () => string } {
  beforeEach(resetMoto);
  return { endpoint: motoEndpoint };
}

/** An S3 client pointed at this worker's moto server. */
export function motoS3Client(): S3Client {
  return new S3Client({
    endpoint: motoEndpoint(),
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
}
