"""Ingest: the Sentry-compatible SDK endpoints, from request to queue.

Pure, Django-free modules: envelope (parsing), bodies (bounded reading and
decompression), auth (finding the DSN key), items (the queue message format),
ratelimits (limits and their headers), reports (sessions, client reports),
csp (security reports to events), cors, attachments (file names and writes).

The hot path: endpoints (the four steps), keys (cached key lookups),
counters (rate-limit counter stores), stats (per-project counters sent as
queue messages), outbox (the queue handle). Entry points: wsgi (the lean
path, ``wrap``) and views/urls (the same through Django).
"""
