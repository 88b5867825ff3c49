"""``fixtrail similar``: list the issues most like one, or index a
project's issues for similar-issue lookups."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from fixtrail.issues.models import Issue
from fixtrail.issues.similar import MAX_LIMIT, reindex_project, similar_issues
from fixtrail.projects.models import Project


class Command(BaseCommand):
    help = (
        "List the issues most like an issue (show ISSUE_ID), or compute the "
        "signatures of a project's issues (reindex ORG PROJECT; digest does "
        "this for new issues, so run it once for issues older than this "
        "feature, or with --all after a change of the method)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        commands = parser.add_subparsers(dest="command", required=True)
        show = commands.add_parser("show", help="list similar issues")
        show.add_argument("issue_id", type=int)
        show.add_argument("--limit", type=int, default=10)
        reindex = commands.add_parser("reindex", help="index a project's issues")
        reindex.add_argument("org")
        reindex.add_argument("project")
        reindex.add_argument(
            "--all", action="store_true", help="recompute issues already indexed"
        )

    def handle(self, *args: object, **options: object) -> None:
        if options["command"] == "show":
            issue = (
                Issue.objects.select_related("project")
                .filter(pk=options["issue_id"])
                .first()
            )
            if issue is None:
                raise CommandError(f"no issue {options['issue_id']}")
            limit = int(options["limit"])
            if not 1 <= limit <= MAX_LIMIT:
                raise CommandError(f"--limit must be from 1 to {MAX_LIMIT}")
            for found in similar_issues(issue, limit=limit, min_score=0.0):
                self.stdout.write(
                    f"{found.percent:3d}%  {found.issue.short_id_display}  "
                    f"{found.issue.title}"
                )
            return
        project = Project.objects.filter(
            organization__slug=options["org"], slug=options["project"]
        ).first()
        if project is None:
            raise CommandError(f"no project {options['org']}/{options['project']}")
        count = reindex_project(project, missing_only=not options["all"])
        self.stdout.write(f"Indexed {count} issues of {project.slug}.")
