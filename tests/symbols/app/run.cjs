// Loads the real @sentry/node, then a bundle built by esbuild, and reports
// the error the bundle throws. Prints {"event_id": "..."} on the last line.
const { createRequire } = require("node:module");

const sdkRequire = createRequire(process.env.SDK_PACKAGE_JSON);
const Sentry = sdkRequire("@sentry/node");

Sentry.init({
  dsn: process.env.SENTRY_DSN,
  release: process.env.APP_RELEASE || undefined,
});

const app = require(process.env.BUNDLE);
let eventId;
try {
  app.checkout({ id: "A-1", total: 10 });
} catch (error) {
  eventId = Sentry.captureException(error);
}
Sentry.flush(10000).then((flushed) => {
  console.log(JSON.stringify({ event_id: eventId, flushed }));
});
