"""``fixtrail sessions``: list and end signed-in browser sessions."""

from __future__ import annotations

import json

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from fixtrail.security.models import UserSession
from fixtrail.security.sessions import (
    active_sessions,
    revoke_all_sessions,
    revoke_session,
)


class Command(BaseCommand):
    help = (
        "List signed-in browser sessions (one JSON line each), or end one "
        "session or all of a user's, e.g. after a lost laptop."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        listing = sub.add_parser("list", help="one JSON line per session")
        listing.add_argument("--user", metavar="EMAIL", default="")
        revoke = sub.add_parser("revoke", help="end a session, or all of a user's")
        group = revoke.add_mutually_exclusive_group(required=True)
        group.add_argument("--id", type=int)
        group.add_argument("--user", metavar="EMAIL")

    def handle(self, *args: object, **options: object) -> None:
        if options["action"] == "list":
            user = self._user(options["user"]) if options["user"] else None
            for row in active_sessions(user):
                self.stdout.write(json.dumps(_row(row)))
        elif options["id"] is not None:
            row = UserSession.objects.filter(pk=options["id"]).first()
            if row is None:
                raise CommandError(f"No session {options['id']}.")
            revoke_session(row)
            self.stdout.write(f"Ended session {options['id']}.")
        else:
            count = revoke_all_sessions(self._user(options["user"]))
            self.stdout.write(f"Ended {count} session(s) of {options['user']}.")

    def _user(self, email: str):
        user = get_user_model().objects.filter(email=email.strip().lower()).first()
        if user is None:
            raise CommandError(f"No user {email}.")
        return user


def _row(row: UserSession) -> dict:
    return {
        "id": row.pk,
        "user": row.user.email,
        "ip_address": row.ip_address,
        "user_agent": row.user_agent,
        "method": row.method,
        "created_at": row.created_at.isoformat(),
    }
