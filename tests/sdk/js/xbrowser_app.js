// The cross-browser grouping page's SDK side: init the real @sentry/browser
// with the DSN from the page's query string, then ask the page's own inline
// script (test.html) to run the error it throws, through a DOM event so no
// named frame of this module sits in the stack.

import * as Sentry from "@sentry/browser";

const dsn = new URLSearchParams(window.location.search).get("dsn");
if (!dsn) {
  throw new Error("xbrowser_app.js: the page URL has no ?dsn=");
}
Sentry.init({ dsn, release: "xbrowser@1.0.0" });
setTimeout(() => document.dispatchEvent(new Event("xbrowser")), 0);
