"""Teams and members in Sentry's paths and shapes.

GET  /organizations/{org}/teams/               the organization's teams
POST /organizations/{org}/teams/               {"name": "Backend", "slug"?}
GET  /teams/{org}/{team}/                      one team
DELETE /teams/{org}/{team}/
GET  /teams/{org}/{team}/projects/             the team's projects
POST|DELETE /projects/{org}/{project}/teams/{team}/   give or take a project
GET  /organizations/{org}/members/             the organization's members
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from ninja import Router, Status

from fixtrail.accounts.models import Membership, Organization, Role, Team, User
from fixtrail.accounts.teams import TeamError, TeamExists, create_team, give_project
from fixtrail.api.access import check_slug, membership_for, project_for
from fixtrail.api.auth import scoped
from fixtrail.api.errors import ApiError, BadRequest
from fixtrail.api.pagination import page_rows
from fixtrail.api.sentry.issues import read_json
from fixtrail.api.serializers import avatar, iso, project_payloads, user_payload

router = Router(tags=["teams"])


def _team_for(user: User, org_slug: str, team_slug: str, minimum: str = Role.VIEWER):
    membership = membership_for(user, org_slug, minimum)
    team = Team.objects.filter(
        organization=membership.organization, slug=check_slug(team_slug)
    ).first()
    if team is None:
        raise Http404("No such team")
    return team, membership


def team_payloads(teams: Sequence[Team], user: User) -> list[dict]:
    """Return teams as Sentry's team serializer shows them, with their
    projects (three queries for any number of teams)."""
    ids = [team.pk for team in teams]
    counts = dict(
        Team.objects.filter(pk__in=ids)
        .annotate(n=Count("members"))
        .values_list("pk", "n")
    )
    mine = set(user.teams.filter(pk__in=ids).values_list("pk", flat=True))
    through = Team.projects.through
    projects_by_team: dict[int, list] = {pk: [] for pk in ids}
    rows = through.objects.filter(team_id__in=ids).select_related(
        "project__organization"
    )
    for row in rows:
        projects_by_team[row.team_id].append(row.project)
    payloads = []
    for team in teams:
        projects = sorted(projects_by_team[team.pk], key=lambda p: p.slug)
        payloads.append(
            {
                "id": str(team.pk),
                "slug": team.slug,
                "name": team.name,
                "dateCreated": iso(team.created_at),
                "isMember": team.pk in mine,
                "teamRole": "contributor" if team.pk in mine else None,
                "hasAccess": True,
                "isPending": False,
                "memberCount": counts.get(team.pk, 0),
                "avatar": avatar(),
                "externalTeams": [],
                "projects": project_payloads(projects, with_organization=False),
            }
        )
    return payloads


@router.get("/organizations/{org_slug}/teams/", auth=scoped("team:read"))
def organization_teams(
    request: HttpRequest, response: HttpResponse, org_slug: str
) -> list[dict]:
    """List the organization's teams, each with its projects."""
    membership = membership_for(request.user, org_slug)
    teams = membership.organization.teams.order_by("slug", "pk")
    return team_payloads(page_rows(request, response, teams), request.user)


@router.post(
    "/organizations/{org_slug}/teams/", auth=scoped("team:write"), response={201: dict}
)
def create_organization_team(request: HttpRequest, org_slug: str) -> Status:
    """Create a team from ``{"name": ..., "slug": ...}`` (either may be
    left out); 409 when the slug is taken. Needs the admin role."""
    membership = membership_for(request.user, org_slug, Role.ADMIN)
    body = read_json(request)
    if not isinstance(body, dict):
        raise BadRequest("The body must be a JSON object.")
    name, slug = body.get("name") or "", body.get("slug") or ""
    if not isinstance(name, str) or not isinstance(slug, str) or not (name or slug):
        raise BadRequest("Give the team a name or a slug.")
    try:
        team = create_team(membership.organization, name, slug)
    except TeamExists as exc:
        raise ApiError(409, str(exc)) from None
    except TeamError as exc:
        raise BadRequest(str(exc)) from None
    (payload,) = team_payloads([team], request.user)
    return Status(201, payload)


@router.get("/teams/{org_slug}/{team_slug}/", auth=scoped("team:read"))
def team_detail(request: HttpRequest, org_slug: str, team_slug: str) -> dict:
    team, membership = _team_for(request.user, org_slug, team_slug)
    (payload,) = team_payloads([team], request.user)
    payload["organization"] = _organization_ref(membership.organization)
    return payload


@router.delete("/teams/{org_slug}/{team_slug}/", auth=scoped("team:write"))
def delete_team(request: HttpRequest, org_slug: str, team_slug: str) -> HttpResponse:
    """Delete a team (its projects stay). Needs the admin role."""
    team, _ = _team_for(request.user, org_slug, team_slug, Role.ADMIN)
    team.delete()
    return HttpResponse(status=204)


@router.get("/teams/{org_slug}/{team_slug}/projects/", auth=scoped("project:read"))
def team_projects(
    request: HttpRequest, response: HttpResponse, org_slug: str, team_slug: str
) -> list[dict]:
    team, _ = _team_for(request.user, org_slug, team_slug)
    projects = team.projects.select_related("organization").order_by("slug", "pk")
    return project_payloads(page_rows(request, response, projects))


PROJECT_TEAM = "/projects/{org_slug}/{project_slug}/teams/{team_slug}/"


@router.post(PROJECT_TEAM, auth=scoped("project:write"), response={201: dict})
def add_project_team(
    request: HttpRequest, org_slug: str, project_slug: str, team_slug: str
) -> Status:
    """Give the project to the team. Needs the admin role."""
    project, _ = project_for(request.user, org_slug, project_slug, Role.ADMIN)
    team, _ = _team_for(request.user, org_slug, team_slug)
    give_project(team, project)
    (payload,) = project_payloads([project])
    return Status(201, payload)


@router.delete(PROJECT_TEAM, auth=scoped("project:write"))
def remove_project_team(
    request: HttpRequest, org_slug: str, project_slug: str, team_slug: str
) -> dict:
    """Take the project from the team. Needs the admin role."""
    project, _ = project_for(request.user, org_slug, project_slug, Role.ADMIN)
    team, _ = _team_for(request.user, org_slug, team_slug)
    team.projects.remove(project)
    (payload,) = project_payloads([project])
    return payload


def member_payload(membership: Membership, team_slugs: list[str]) -> dict:
    """Return a member as Sentry's organization member serializer shows one."""
    user = membership.user
    pending = not user.has_usable_password() and user.last_login is None
    return {
        "id": str(membership.pk),
        "email": user.email,
        "name": user.name or user.email,
        "user": user_payload(user),
        "orgRole": membership.role,
        "role": membership.role,
        "roleName": membership.get_role_display(),
        "pending": pending,
        "expired": False,
        "flags": {"sso:linked": False, "sso:invalid": False},
        "dateCreated": iso(membership.created_at),
        "inviteStatus": "approved",
        "inviterName": None,
        "teams": team_slugs,
        "teamRoles": [{"teamSlug": slug, "role": None} for slug in team_slugs],
    }


@router.get("/organizations/{org_slug}/members/", auth=scoped("member:read"))
def organization_members(
    request: HttpRequest, response: HttpResponse, org_slug: str
) -> list[dict]:
    """List the organization's members with their roles and teams."""
    membership = membership_for(request.user, org_slug)
    org = membership.organization
    members = org.memberships.select_related("user").order_by("user__email", "pk")
    rows = page_rows(request, response, members)
    slugs: dict[int, list[str]] = {m.user_id: [] for m in rows}
    through = Team.members.through
    for user_id, slug in (
        through.objects.filter(team__organization=org, user_id__in=list(slugs))
        .order_by("team__slug")
        .values_list("user_id", "team__slug")
    ):
        slugs[user_id].append(slug)
    return [member_payload(m, slugs[m.user_id]) for m in rows]


def _organization_ref(org: Organization) -> dict:
    return {"id": str(org.pk), "slug": org.slug, "name": org.name}
