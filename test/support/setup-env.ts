/** Per-test-file environment: the local runner's polyfill, and no AWS SDK notice about future Node versions. */
import '../../agent/local/promise-with-resolvers';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

// Tests run the TypeScript sources: a CLI spawned by a test (bin/commserve-dr.js) ignores any build in dist/,
// which may be older or newer than the sources under test. test/e2e/built-cli.test.ts tests the build itself.
process.env.COMMSERVE_DR_FROM_SOURCES = '1';
