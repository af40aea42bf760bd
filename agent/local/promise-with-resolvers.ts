/**
 * Polyfill for `Promise.withResolvers` (ES2024), missing from Node 20.
 *
 * aws-local-stepfunctions calls it for every Task; without it each Task fails with a TypeError
 * that Retry/Catch swallow silently (TOOLING.md). Loaded only by the local runner and the tests,
 * never by the Lambda handlers (Lambda runs Node 22, which has it).
 */
type WithResolvers<T> = { promise: Promise<T>; resolve: (value: T | PromiseLike<T>) => void; reject: (reason?: unknown) => void };

const P = Promise as unknown as { withResolvers?: <T>() => WithResolvers<T> };
if (typeof P.withResolvers !== 'function') {
  Object.defineProperty(Promise, 'withResolvers', {
    configurable: true,
    writable: true,
    value: function withResolvers<T>(): WithResolvers<T> {
      let resolve!: WithResolvers<T>['resolve'];
      let reject!: WithResolvers<T>['reject'];
      const promise = new Promise<T>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      return { promise, resolve, reject };
    },
  });
}

export {};
