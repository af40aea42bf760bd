/** Per-test-file environment: the local runner's polyfill, and no AWS SDK notice about future Node versions. */
import '../../agent/local/promise-with-resolvers';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
