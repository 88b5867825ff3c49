"""Account security pages: two-factor, recovery codes, sessions, and the
organization's two-factor requirement."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from fixtrail.accounts.access import get_membership
from fixtrail.accounts.models import Role
from fixtrail.security import throttle, twofactor
from fixtrail.security.forms import CodeForm, PolicyForm
from fixtrail.security.models import OrganizationPolicy, RecoveryCode
from fixtrail.security.sessions import active_sessions, revoke_session
from fixtrail.security.signin import (
    finish_two_factor_login,
    pending_user,
)


@login_required
def overview(request: HttpRequest) -> HttpResponse:
    """Show two-factor status and the user's signed-in sessions."""
    ctx = {
        "two_factor": twofactor.has_two_factor(request.user),
        "required": twofactor.two_factor_required(request.user),
        "codes_left": twofactor.remaining_recovery_codes(request.user),
        "sessions": active_sessions(request.user),
        "current_key": request.session.session_key,
    }
    return render(request, "security/overview.html", ctx)


@login_required
def two_factor(request: HttpRequest) -> HttpResponse:
    """Enrol an authenticator app: scan, then confirm with one code."""
    try:
        device = twofactor.begin_enrollment(request.user)
    except twofactor.TwoFactorError as exc:
        messages.info(request, str(exc))
        return redirect("security:overview")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            codes = twofactor.confirm_enrollment(device, form.cleaned_data["code"])
        except twofactor.TwoFactorError as exc:
            form.add_error("code", str(exc))
        else:
            return render(request, "security/recovery_codes.html", {"codes": codes})
    uri = twofactor.provisioning_uri(device)
    ctx = {"form": form, "secret": device.secret, "qr": twofactor.qr_svg(uri)}
    return render(request, "security/two_factor.html", ctx)


@login_required
@require_POST
def disable_two_factor(request: HttpRequest) -> HttpResponse:
    try:
        twofactor.disable_two_factor(request.user)
    except twofactor.TwoFactorError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Two-factor authentication is off.")
    return redirect("security:overview")


@login_required
@require_POST
def new_recovery_codes(request: HttpRequest) -> HttpResponse:
    """Replace the recovery codes (the old ones stop working)."""
    if not twofactor.has_two_factor(request.user):
        return redirect("security:overview")
    codes = RecoveryCode.issue(request.user)
    return render(request, "security/recovery_codes.html", {"codes": codes})


@login_required
@require_POST
def revoke(request: HttpRequest, pk: int) -> HttpResponse:
    """End one of the user's sessions (another browser, or this one)."""
    row = get_object_or_404(request.user.sessions, pk=pk)
    current = row.session_key == request.session.session_key
    revoke_session(row)
    if current:
        return redirect("accounts:login")
    messages.success(request, "Session ended.")
    return redirect("security:overview")


def verify(request: HttpRequest) -> HttpResponse:
    """The sign-in's second step: a code from the app or a recovery code."""
    user = pending_user(request)
    if user is None:
        messages.error(request, "Sign in again: the code step timed out.")
        return redirect("accounts:login")
    if throttle.is_locked(request, user.email):
        return throttle.lockout_response(request, None, {"email": user.email})
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if twofactor.verify_second_factor(user, form.cleaned_data["code"]):
            return finish_two_factor_login(request, user)
        throttle.record_failure(request, user.email)
        if throttle.is_locked(request, user.email):
            return throttle.lockout_response(request, None, {"email": user.email})
        form.add_error("code", "That code is not right, or was used already.")
    return render(request, "security/verify.html", {"form": form})


@login_required
def organization_policy(request: HttpRequest, org_slug: str) -> HttpResponse:
    """Owners require two-factor of every member; everyone sees who lacks it."""
    membership = get_membership(request.user, org_slug)
    org = membership.organization
    policy, _ = OrganizationPolicy.objects.get_or_create(organization=org)
    initial = {"require_two_factor": policy.require_two_factor}
    form = PolicyForm(request.POST or None, initial=initial)
    if request.method == "POST":
        get_membership(request.user, org_slug, Role.OWNER)
        if form.is_valid():
            policy.require_two_factor = form.cleaned_data["require_two_factor"]
            policy.save(update_fields=["require_two_factor"])
            messages.success(request, "Sign-in policy saved.")
            return redirect("security:organization", org_slug=org.slug)
    ctx = {
        "organization": org,
        "policy": policy,
        "form": form,
        "can_manage": membership.has_role(Role.OWNER),
        "without": twofactor.members_without_two_factor(org),
    }
    return render(request, "security/organization.html", ctx)
