/**
 * Handlers built from the environment on first use: the environment is read and validated once per
 * Lambda execution environment, and importing a handler module never throws (tests import the
 * modules for their factories without setting the variables).
 */

/**
 * Wraps a handler factory so it is called on the first invocation only; its result serves every
 * later invocation. A factory failure (e.g. a missing environment variable) rejects that invocation
 * with the factory's error and is retried on the next one.
 */
export function lazyHandler<I, O>(build: () => (event: I) => Promise<O>): (event: I) => Promise<O> {
  let built: ((event: I) => Promise<O>) | undefined;
  return async (event: I) => {
    built ??= build();
    return built(event);
  };
}
