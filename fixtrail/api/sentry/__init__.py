"""The Sentry-compatible web API under ``/api/0/``: the endpoints that
sentry-cli, GitLab's error tracking and dashboards call, with Sentry's
paths, scopes, field names and error shapes."""
