"""The alert pages: a project's rules (list, create, edit, delete, test,
with their failing deliveries), and each person's mutes and digest."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from fixtrail.accounts.models import Role
from fixtrail.alerts import triggers
from fixtrail.alerts.delivery import queue_test, rule_health
from fixtrail.alerts.digests import set_digest
from fixtrail.alerts.forms import PreferenceForm, RuleForm
from fixtrail.alerts.models import AlertMute, AlertPreference, AlertRule
from fixtrail.alerts.mutes import mute, unmute
from fixtrail.alerts.rules import RuleError, rule_when, save_rule
from fixtrail.issues.models import Issue
from fixtrail.jobs.models import Job
from fixtrail.jobs.runner import retry_now
from fixtrail.projects.access import get_project

# Deliveries shown on a rule's page, newest first.
DELIVERIES_SHOWN = 20


def _rules_url(project) -> str:
    return f"{project.get_absolute_url()}alerts/"


@login_required
def rule_list(request: HttpRequest, org_slug: str, project_slug: str) -> HttpResponse:
    """List the project's rules with the state of their deliveries."""
    project, membership = get_project(request.user, org_slug, project_slug)
    rules = list(project.alert_rules.order_by("pk").prefetch_related("actions"))
    rows = [
        {
            "rule": rule,
            "when": triggers.format_when(rule_when(rule)),
            "cooldown": triggers.format_duration(rule.cooldown_minutes),
            "health": rule_health(rule),
        }
        for rule in rules
    ]
    ctx = {
        "organization": project.organization,
        "project": project,
        "rows": rows,
        "can_edit": membership.has_role(Role.MEMBER),
    }
    return render(request, "alerts/rules.html", ctx)


def _save_form(request, project, form: RuleForm, rule: AlertRule | None):
    data = form.cleaned_data
    try:
        return save_rule(
            project,
            name=data["name"],
            when=data["when"],
            filter=data["filter"],
            cooldown_minutes=data["cooldown"],
            add_actions=data["add_actions"],
            remove_action_ids=data.get("remove_actions") or [],
            is_active=data["is_active"],
            user=request.user,
            rule=rule,
        )
    except RuleError as exc:
        form.add_error(None, exc.message)
        transaction.set_rollback(True)
        return None


@login_required
@transaction.atomic
def rule_create(request: HttpRequest, org_slug: str, project_slug: str) -> HttpResponse:
    """Create a rule (members and above)."""
    project, _ = get_project(request.user, org_slug, project_slug, Role.MEMBER)
    form = RuleForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        saved = _save_form(request, project, form, None)
        if saved is not None:
            _announce_secrets(request, saved)
            return redirect(saved.rule.get_absolute_url())
    ctx = {"organization": project.organization, "project": project, "form": form}
    return render(request, "alerts/rule_form.html", ctx)


def _announce_secrets(request: HttpRequest, saved) -> None:
    messages.success(request, "Rule saved.")
    for secret in saved.secrets.values():
        # Shown once: the page never renders a stored secret again.
        messages.info(request, f"Webhook signing secret (copy it now): {secret}")


@login_required
@transaction.atomic
def rule_detail(
    request: HttpRequest, org_slug: str, project_slug: str, pk: int
) -> HttpResponse:
    """Show and edit a rule, with its recent deliveries and their errors."""
    project, membership = get_project(request.user, org_slug, project_slug)
    rule = get_object_or_404(project.alert_rules, pk=pk)
    rule.project = project
    form = RuleForm(request.POST or None, rule=rule)
    if request.method == "POST":
        get_project(request.user, org_slug, project_slug, Role.MEMBER)
        if form.is_valid():
            saved = _save_form(request, project, form, rule)
            if saved is not None:
                _announce_secrets(request, saved)
                return redirect(rule.get_absolute_url())
    jobs = Job.objects.filter(owner=rule.job_owner).order_by("-pk")[:DELIVERIES_SHOWN]
    ctx = {
        "organization": project.organization,
        "project": project,
        "rule": rule,
        "form": form,
        "health": rule_health(rule),
        "jobs": jobs,
        "notices": rule.notices.select_related("issue").order_by("-pk")[:10],
        "can_edit": membership.has_role(Role.MEMBER),
    }
    return render(request, "alerts/rule_form.html", ctx)


@login_required
@require_POST
def rule_delete(
    request: HttpRequest, org_slug: str, project_slug: str, pk: int
) -> HttpResponse:
    """Delete a rule; its queued deliveries find it gone and stop."""
    project, _ = get_project(request.user, org_slug, project_slug, Role.MEMBER)
    get_object_or_404(project.alert_rules, pk=pk).delete()
    messages.success(request, "Rule deleted.")
    return redirect(_rules_url(project))


@login_required
@require_POST
def rule_test(
    request: HttpRequest, org_slug: str, project_slug: str, pk: int
) -> HttpResponse:
    """Queue a sample message through every action; the worker sends them."""
    project, _ = get_project(request.user, org_slug, project_slug, Role.MEMBER)
    rule = get_object_or_404(project.alert_rules, pk=pk)
    rule.project = project
    with transaction.atomic():
        queued = queue_test(rule)
    messages.success(
        request, f"Queued {queued} test message(s); results show below shortly."
    )
    return redirect(rule.get_absolute_url())


@login_required
@require_POST
def delivery_retry(
    request: HttpRequest, org_slug: str, project_slug: str, pk: int, job_id: int
) -> HttpResponse:
    """Run a failed or waiting delivery of the rule again now."""
    project, _ = get_project(request.user, org_slug, project_slug, Role.MEMBER)
    rule = get_object_or_404(project.alert_rules, pk=pk)
    rule.project = project
    retry_now(get_object_or_404(Job, pk=job_id, owner=rule.job_owner))
    messages.success(request, "The delivery will be tried again.")
    return redirect(rule.get_absolute_url())


@login_required
def settings_page(request: HttpRequest) -> HttpResponse:
    """The person's alert e-mails: digest frequency and mutes."""
    pref = AlertPreference.objects.filter(user=request.user).first()
    form = PreferenceForm(
        request.POST or None,
        initial={"digest": pref.digest if pref else AlertPreference.Digest.OFF},
    )
    if request.method == "POST" and form.is_valid():
        set_digest(request.user, form.cleaned_data["digest"])
        messages.success(request, "Saved.")
        return redirect("alerts:settings")
    mutes = AlertMute.objects.filter(user=request.user).select_related(
        "project__organization", "issue__project"
    )
    ctx = {
        "form": form,
        "mutes": mutes.order_by("pk"),
        "all_muted": any(m.scope == "all" for m in mutes),
    }
    return render(request, "alerts/settings.html", ctx)


def _back(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(target, {request.get_host()}):
        return target
    return fallback


@login_required
@require_POST
def toggle_mute(request: HttpRequest) -> HttpResponse:
    """Mute or unmute alert e-mails about an issue (``issue``), a project
    (``project`` as org/slug) or everything (neither)."""
    issue = project = None
    if request.POST.get("issue"):
        issue = get_object_or_404(
            Issue.objects.select_related("project"), pk=_int(request.POST["issue"])
        )
        # Outsiders get the same 404 as for a missing issue.
        get_project(request.user, issue.project.organization.slug, issue.project.slug)
    elif request.POST.get("project"):
        org_slug, _, slug = request.POST["project"].partition("/")
        project, _ = get_project(request.user, org_slug, slug)
    if request.POST.get("on") == "1":
        mute(request.user, issue=issue, project=project)
        messages.success(request, "Muted.")
    else:
        unmute(request.user, issue=issue, project=project)
        messages.success(request, "Unmuted.")
    return redirect(_back(request, "/alerts/settings/"))


def _int(text: str) -> int:
    return int(text) if text.isdigit() and len(text) < 19 else 0
