"""Sign-in, first-run set-up, API tokens and organization members."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import authenticate, login, logout
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from fixtrail.accounts import setup
from fixtrail.accounts.access import get_membership
from fixtrail.accounts.forms import (
    SCOPE_PRESETS,
    LoginForm,
    MemberForm,
    SetupForm,
    TeamForm,
    TokenForm,
)
from fixtrail.accounts.invitations import send_invitation
from fixtrail.accounts.models import (
    ApiToken,
    MembershipError,
    Organization,
    Role,
    Team,
    User,
    set_member_role,
)
from fixtrail.accounts.teams import (
    TeamError,
    create_team,
    give_project,
    join_team,
    leave_team,
    take_project,
)
from fixtrail.security.signin import finish_password_login
from fixtrail.security.sso import sign_in_options


def home(request: HttpRequest) -> HttpResponse:
    """Send a visitor to set-up, sign-in, or their first organization."""
    if setup.needs_setup():
        return redirect("accounts:setup")
    if not request.user.is_authenticated:
        return redirect("accounts:login")
    org = Organization.objects.for_user(request.user).first()
    if org is None:
        return render(request, "accounts/no_organization.html")
    return redirect(org.get_absolute_url())


def setup_view(request: HttpRequest) -> HttpResponse:
    """Create the first user; only with the token printed on the console."""
    if not setup.needs_setup():
        return redirect("accounts:login")
    token = request.POST.get("token") or request.GET.get("token", "")
    if not setup.check_setup_token(token):
        return render(request, "accounts/setup_token.html", status=403)
    form = SetupForm(request.POST or None, initial={"token": token})
    if request.method == "POST" and form.is_valid():
        user = setup.create_first_user(
            form.cleaned_data["email"],
            form.cleaned_data["password"],
            form.cleaned_data["organization"],
        )
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect("home")
    return render(request, "accounts/setup.html", {"form": form})


def login_view(request: HttpRequest) -> HttpResponse:
    form = LoginForm(request.POST or None)
    error = None
    options = sign_in_options()
    if request.method == "POST" and options["password_login"] and form.is_valid():
        user = authenticate(
            request,
            email=form.cleaned_data["email"].lower(),
            password=form.cleaned_data["password"],
        )
        if user is not None:
            target = request.GET.get("next", "/")
            if not url_has_allowed_host_and_scheme(target, {request.get_host()}):
                target = "/"
            return finish_password_login(request, user, target)
        error = "Wrong e-mail or password."
    ctx = {"form": form, "error": error, **options}
    return render(request, "accounts/login.html", ctx)


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("accounts:login")


@login_required
def tokens(request: HttpRequest) -> HttpResponse:
    """List the user's API tokens and create new ones (shown once)."""
    form = TokenForm(request.POST or None)
    created = None
    if request.method == "POST" and form.is_valid():
        _, created = ApiToken.issue(
            request.user, form.cleaned_data["name"], form.cleaned_data["scopes"]
        )
        form = TokenForm()
    items = request.user.api_tokens.active().order_by("-created_at")
    ctx = {
        "form": form,
        "tokens": items,
        "created": created,
        "presets": list(SCOPE_PRESETS.items()),
    }
    return render(request, "accounts/tokens.html", ctx)


@login_required
@require_POST
def revoke_token(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(request.user.api_tokens.active(), pk=pk)
    token.revoke()
    messages.success(request, f"Token “{token.name}” revoked.")
    return redirect("accounts:tokens")


@login_required
def members(request: HttpRequest, org_slug: str) -> HttpResponse:
    """List an organization's members; admins add people by e-mail."""
    membership = get_membership(request.user, org_slug)
    org = membership.organization
    form = MemberForm(request.POST or None)
    if request.method == "POST":
        # Only owners change who is in the organization and with what role,
        # so no admin can raise themselves above the owners.
        membership = get_membership(request.user, org_slug, Role.OWNER)
        if form.is_valid():
            try:
                member = set_member_role(
                    org, form.cleaned_data["email"], form.cleaned_data["role"]
                )
            except MembershipError as exc:
                form.add_error(None, str(exc))
            else:
                if not member.user.has_usable_password():
                    send_invitation(member.user, org, request.user)
                messages.success(request, f"{form.cleaned_data['email']} added.")
                return redirect("accounts:members", org_slug=org.slug)
    members = list(org.memberships.select_related("user").order_by("user__email"))
    teams_of = _teams_by_user(org)
    for member in members:
        member.user_teams = teams_of.get(member.user_id, [])
    ctx = {
        "organization": org,
        "membership": membership,
        "members": members,
        "form": form,
        "can_manage": membership.has_role(Role.OWNER),
    }
    return render(request, "accounts/members.html", ctx)


def _teams_by_user(org: Organization) -> dict[int, list[Team]]:
    teams: dict[int, list[Team]] = {}
    through = Team.members.through
    rows = through.objects.filter(team__organization=org).select_related("team")
    for row in rows.order_by("team__slug"):
        teams.setdefault(row.user_id, []).append(row.team)
    return teams


@login_required
def teams(request: HttpRequest, org_slug: str) -> HttpResponse:
    """List the organization's teams; admins create them."""
    membership = get_membership(request.user, org_slug)
    org = membership.organization
    form = TeamForm(request.POST or None)
    if request.method == "POST":
        get_membership(request.user, org_slug, Role.ADMIN)
        if form.is_valid():
            try:
                team = create_team(org, form.cleaned_data["name"])
            except TeamError as exc:
                form.add_error("name", str(exc))
            else:
                messages.success(request, f"Team #{team.slug} created.")
                return redirect("accounts:teams", org_slug=org.slug)
    ctx = {
        "organization": org,
        "teams": _team_rows(org, request.user),
        "form": form,
        "can_manage": membership.has_role(Role.ADMIN),
        "can_join": membership.has_role(Role.MEMBER),
    }
    return render(request, "accounts/teams.html", ctx)


def _team_rows(org: Organization, user: User) -> list[dict]:
    projects = list(org.projects.order_by("name"))
    rows = []
    for team in org.teams.prefetch_related("members", "projects").order_by("slug"):
        members = sorted(team.members.all(), key=lambda u: u.email)
        own = sorted(team.projects.all(), key=lambda p: p.name)
        rows.append(
            {
                "team": team,
                "members": members,
                "is_member": any(m.pk == user.pk for m in members),
                "projects": own,
                "other_projects": [p for p in projects if p not in own],
            }
        )
    return rows


@login_required
@require_POST
def team_action(request: HttpRequest, org_slug: str, team_slug: str) -> HttpResponse:
    """Join or leave a team (members), give or take a project, or delete
    the team (admins)."""
    action = request.POST.get("action", "")
    minimum = Role.MEMBER if action in ("join", "leave") else Role.ADMIN
    membership = get_membership(request.user, org_slug, minimum)
    org = membership.organization
    team = get_object_or_404(org.teams, slug=team_slug)
    if action == "join":
        join_team(team, request.user)
        messages.success(request, f"You joined #{team.slug}.")
    elif action == "leave":
        leave_team(team, request.user)
        messages.success(request, f"You left #{team.slug}.")
    elif action in ("give_project", "take_project"):
        project = get_object_or_404(org.projects, slug=request.POST.get("project", ""))
        if action == "give_project":
            give_project(team, project)
            messages.success(request, f"{project.name} added to #{team.slug}.")
        else:
            take_project(team, project)
            messages.success(request, f"{project.name} removed from #{team.slug}.")
    elif action == "delete":
        team.delete()
        messages.success(request, f"Team #{team_slug} deleted.")
    else:
        return HttpResponseBadRequest("Unknown action")
    return redirect("accounts:teams", org_slug=org.slug)
