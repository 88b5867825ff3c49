"""Sign-in, first-run set-up, API tokens and organization members."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import authenticate, login, logout
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from fixtrail.accounts import setup
from fixtrail.accounts.access import get_membership
from fixtrail.accounts.forms import LoginForm, MemberForm, SetupForm, TokenForm
from fixtrail.accounts.invitations import send_invitation
from fixtrail.accounts.models import (
    ApiToken,
    MembershipError,
    Organization,
    Role,
    set_member_role,
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
    ctx = {"form": form, "tokens": items, "created": created}
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
    ctx = {
        "organization": org,
        "membership": membership,
        "members": org.memberships.select_related("user").order_by("user__email"),
        "form": form,
        "can_manage": membership.has_role(Role.OWNER),
    }
    return render(request, "accounts/members.html", ctx)
