"""The ``/api/0/`` NinjaAPI: routers, renderer and error handling."""

from __future__ import annotations

from ninja import NinjaAPI

from fixtrail.api.errors import install_error_handlers
from fixtrail.api.renderers import OrjsonRenderer
from fixtrail.api.sentry import (
    artifacts,
    discover,
    feedback,
    issues,
    organizations,
    ownership,
    projects,
    releases,
    rules,
    stats,
    tags,
)
from fixtrail.api.sentry import teams as teams_api

api = NinjaAPI(
    title="Fixtrail: Sentry-compatible API",
    version="0",
    description=(
        "The subset of Sentry's web API that sentry-cli, GitLab's error "
        "tracking and dashboards use, with Sentry's paths and shapes."
    ),
    urls_namespace="api-0",
    docs_url=None,
    renderer=OrjsonRenderer(),
)
install_error_handlers(api)
api.add_router("", organizations.router)
api.add_router("", projects.router)
api.add_router("", issues.router)
api.add_router("", releases.router)
api.add_router("", artifacts.router)
api.add_router("", rules.router)
api.add_router("", discover.router)
api.add_router("", stats.router)
api.add_router("", tags.router)
api.add_router("", ownership.router)
api.add_router("", teams_api.router)
api.add_router("", feedback.router)
