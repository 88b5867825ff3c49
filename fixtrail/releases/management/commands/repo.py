"""``fixtrail repo``: link code repositories to projects and list them."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError, CommandParser

from fixtrail.projects.models import Project
from fixtrail.releases.actions import ReleaseError, add_repository, remove_repository
from fixtrail.releases.models import Repository


class Command(BaseCommand):
    help = (
        "Link a GitLab project, GitHub repository or any git URL to a project "
        "(so releases read its commits and issues get suspect commits), list "
        "the linked repositories, or unlink one. Tokens are stored encrypted "
        "and never printed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        add = sub.add_parser("add", help="link a repository to a project")
        add.add_argument("--project", required=True, metavar="ORG/PROJECT")
        add.add_argument(
            "--provider", required=True, choices=Repository.Provider.values
        )
        add.add_argument("--url", required=True, help="web URL or https clone URL")
        add.add_argument("--token", default="", help="access token (optional)")
        add.add_argument(
            "--name", default="", help="name sentry-cli uses (default: URL path)"
        )
        listing = sub.add_parser("list", help="one JSON line per repository")
        listing.add_argument("--project", metavar="ORG/PROJECT")
        remove = sub.add_parser("remove", help="unlink a repository from a project")
        remove.add_argument("--project", required=True, metavar="ORG/PROJECT")
        remove.add_argument("name")

    def handle(self, *args: object, **options: object) -> None:
        action = options["action"]
        if action == "add":
            project = _project(options["project"])
            try:
                repository, created = add_repository(
                    project.organization,
                    project,
                    provider=options["provider"],
                    url=options["url"],
                    token=options["token"],
                    name=options["name"],
                )
            except ReleaseError as exc:
                raise CommandError(exc.message) from None
            self.stdout.write(json.dumps({**_row(repository), "created": created}))
        elif action == "list":
            repositories = Repository.objects.order_by("organization__slug", "name")
            if options["project"]:
                repositories = repositories.filter(
                    projects=_project(options["project"])
                )
            for repository in repositories.prefetch_related("projects"):
                self.stdout.write(json.dumps(_row(repository)))
        else:
            project = _project(options["project"])
            repository = project.repositories.filter(
                name__iexact=options["name"]
            ).first()
            if repository is None:
                raise CommandError(
                    f"no repository {options['name']!r} in {options['project']}"
                )
            remove_repository(repository, project)
            self.stdout.write(f"unlinked {repository.name}")


def _project(text: str) -> Project:
    project = Project.objects.by_path(text)
    if project is None:
        raise CommandError(f"no project {text!r} (write it as ORG/PROJECT)")
    return project


def _row(repository: Repository) -> dict:
    return {
        "id": repository.pk,
        "organization": repository.organization.slug,
        "name": repository.name,
        "provider": repository.provider,
        "url": repository.url,
        "has_token": bool(repository.token),
        "projects": sorted(p.slug for p in repository.projects.all()),
    }
