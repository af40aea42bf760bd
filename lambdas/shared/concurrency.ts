/**
 * Bounded concurrency for S3 requests (HeadObject per file, UploadPartCopy per part).
 */

/**
 * Runs `fn` over `items` with at most `limit` calls in flight; results keep the order of `items`.
 * Stops starting new calls after the first failure and rejects with that failure once the calls in
 * flight have settled (so a caller can clean up, e.g. abort a multipart upload, knowing nothing runs).
 * @param limit at least 1.
 */
export async function mapWithConcurrency<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  let firstError: unknown;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const index = next++;
      try {
        results[index] = await fn(items[index], index);
      } catch (error) {
        if (!failed) {
          failed = true;
          firstError = error;
        }
      }
    }
  };
  const workers = Array.from({ length: Math.max(1, Math.min(Math.floor(limit) || 1, items.length)) }, worker);
  await Promise.all(workers);
  if (failed) throw firstError;
  return results;
}
