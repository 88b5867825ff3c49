// The shop's browser entry: the real @sentry/browser SDK, bundled with the
// app by esbuild, reports the error the app throws after the page loads.
import * as Sentry from "@sentry/browser";

import { checkout } from "./index";

const dsn = new URLSearchParams(window.location.search).get("dsn") ?? "";
Sentry.init({ dsn, release: "shop-web@1.0.0" });

setTimeout(function onPayClick() {
  checkout({ id: "A-1", total: 10 });
}, 0);
