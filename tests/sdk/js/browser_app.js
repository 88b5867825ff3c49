// A shop page's script reporting to Fixtrail with the real @sentry/browser
// SDK, loaded as ES modules through the page's import map (import_map.mjs).
//
// The page's query string configures it:
//   dsn     the project's DSN (required)
//   header  when present, the transport adds an X-Shop-Build header to its
//           requests, which makes them non-simple CORS requests: the browser
//           must then get a successful preflight before it may post.
//
// Once loaded it throws an uncaught error from a named function inside a
// timer callback, as a click handler would, and lets the SDK report it.

import * as Sentry from "@sentry/browser";

const params = new URLSearchParams(window.location.search);
const dsn = params.get("dsn");
if (!dsn) {
  throw new Error("browser_app.js: the page URL has no ?dsn=");
}

Sentry.init({
  dsn,
  release: "shop-web@3.0.0",
  environment: "production",
  transportOptions: params.has("header")
    ? { headers: { "X-Shop-Build": "3.0.0" } }
    : {},
});
Sentry.setUser({ id: "7", username: "grace" });
Sentry.setTag("page", "basket");

function renderBasket(basket) {
  throw new TypeError(`basket ${basket.id} has no items`);
}

setTimeout(function onCheckoutClick() {
  renderBasket({ id: "B-7" });
}, 0);
