// A tiny Node.js application reporting to Fixtrail with the real
// @sentry/node SDK, configured the way its users do: only SENTRY_DSN (read
// by the SDK itself) points it at Fixtrail.
//
// It reports three events and prints one line of JSON to stdout:
//
//   {"exception": "<event id>", "message": "<event id>",
//    "large": "<event id>", "flushed": true,
//    "requests": [{"method": "POST", "path": "/api/1/envelope/?sentry_key=…",
//                  "headers": {...}, "status": 200}, ...]}
//
// "requests" lists what the SDK's transport sent, seen through Node's
// http diagnostics channels (the SDK's code is not touched): the tests check
// its authentication, chunked bodies and gzip against what arrived.

import diagnosticsChannel from "node:diagnostics_channel";
import { fileURLToPath } from "node:url";

import * as Sentry from "@sentry/node";

// Above the SDK's 32 KiB threshold, so this event is gzip-compressed.
const LARGE_EVENT_EXTRA_BYTES = 48 * 1024;
const FLUSH_TIMEOUT_MS = 10000;

if (!process.env.SENTRY_DSN) {
  console.error("node_app.mjs: SENTRY_DSN is not set");
  process.exit(2);
}

const requests = [];
diagnosticsChannel.subscribe("http.client.response.finish", ({ request, response }) => {
  requests.push({
    method: request.method,
    path: request.path,
    headers: request.getHeaders(),
    // Node decides this when the headers go out: true when the body was
    // sent with Transfer-Encoding: chunked instead of a Content-Length.
    chunked: request.chunkedEncoding,
    status: response.statusCode,
  });
});

Sentry.init({
  release: "shop-api@2.4.1",
  environment: "staging",
  serverName: "api-7",
});
Sentry.setUser({ id: "42", email: "ada@example.org" });
Sentry.setTag("checkout.step", "payment");

function chargeCard(order) {
  throw new Error(`card declined for order ${order.id}`);
}

let exceptionId;
try {
  chargeCard({ id: "A-1001" });
} catch (error) {
  exceptionId = Sentry.captureException(error);
}

const messageId = Sentry.captureMessage("inventory sync fell behind", "warning");

const largeId = Sentry.captureException(new RangeError("report too large to render"), {
  extra: { rows: "x".repeat(LARGE_EVENT_EXTRA_BYTES) },
});

const flushed = await Sentry.flush(FLUSH_TIMEOUT_MS);
process.stdout.write(
  JSON.stringify({
    exception: exceptionId,
    message: messageId,
    large: largeId,
    flushed,
    script: fileURLToPath(import.meta.url),
    requests,
  }) + "\n",
);
