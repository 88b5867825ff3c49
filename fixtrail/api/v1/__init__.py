"""Fixtrail's own web API under ``/api/v1/``: everything the pages can do,
typed, with an OpenAPI schema and docs at ``/api/docs``."""
