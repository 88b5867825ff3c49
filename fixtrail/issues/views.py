"""Triage pages: the issue lists, the issue page with its events, and the
actions on issues.

Pages that htmx updates in place (the list, the events list, an event)
render only their partial when asked with an ``HX-Request`` header, and the
whole page otherwise, from the same view and the same partial template.
Every action is a POST that needs the member role; viewers see the pages
and get 403 on any POST.
"""

from __future__ import annotations

import orjson
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.http import (
    content_disposition_header,
    url_has_allowed_host_and_scheme,
)
from django.views.decorators.http import require_POST

from fixtrail.accounts.access import get_membership
from fixtrail.accounts.models import Membership, Organization, Role, Team, User
from fixtrail.events.models import Attachment, Event, UserReport
from fixtrail.events.storage import CorruptEventData
from fixtrail.issues import actions, display, listing, overview, similar
from fixtrail.issues.forms import (
    IGNORE_FOR_CHOICES,
    MAX_MERGE_ISSUES,
    RESOLVE_CHOICES,
    CommentForm,
    IssueActionForm,
    Outcome,
    SavedSearchForm,
    selected_issues,
)
from fixtrail.issues.models import Issue, IssueOwner, Priority, SavedSearch
from fixtrail.issues.search import Page, SearchError, quote_term
from fixtrail.projects.access import get_project
from fixtrail.projects.models import Project
from fixtrail.projects.snippets import setup_context
from fixtrail.releases.overview import issue_overview
from fixtrail.storage import blob_store
from fixtrail.symbols.display import choose_frames
from fixtrail.usage.features import count_use


def _is_partial(request: HttpRequest) -> bool:
    # htmx restores history with a full-page request that still carries
    # HX-Request; it must get the whole page.
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


def _render(request: HttpRequest, full: str, partial: str, ctx: dict) -> HttpResponse:
    response = render(request, partial if _is_partial(request) else full, ctx)
    patch_vary_headers(response, ["HX-Request"])
    return response


def _get_issue(
    user: User, pk: int, minimum: str = Role.VIEWER
) -> tuple[Issue, Membership]:
    """Return the issue and the user's membership of its organization:
    404 for unknown issues and outsiders, 403 below ``minimum``."""
    issue = (
        Issue.objects.select_related(
            "project__organization", "assignee", "assignee_team"
        )
        .filter(pk=pk)
        .first()
    )
    if issue is None:
        raise Http404("No such issue")
    membership = get_membership(user, issue.project.organization.slug, minimum)
    return issue, membership


def _assignee_choices(organization: Organization) -> list[tuple[str, str]]:
    users = User.objects.filter(memberships__organization=organization).order_by(
        "email"
    )
    teams = Team.objects.filter(organization=organization).order_by("slug")
    return [(f"user:{u.pk}", u.display_name) for u in users] + [
        (f"team:{t.pk}", f"#{t.slug}") for t in teams
    ]


def _action_context(organization: Organization) -> dict:
    return {
        "assignee_choices": _assignee_choices(organization),
        "ignore_for_choices": IGNORE_FOR_CHOICES,
        "resolve_choices": RESOLVE_CHOICES,
        "priority_choices": Priority.choices,
    }


# Issue lists -------------------------------------------------------------


@login_required
def project_issues(
    request: HttpRequest, org_slug: str, project_slug: str
) -> HttpResponse:
    """The issues of one project."""
    project, membership = get_project(request.user, org_slug, project_slug)
    if not Issue.objects.filter(project=project).exists():
        return _waiting_for_first_event(request, project)
    return _issue_list(request, membership, project)


def _waiting_for_first_event(request: HttpRequest, project: Project) -> HttpResponse:
    # The partial polls this same URL; the first answer after digest has
    # stored an issue is the list's partial, which htmx swaps in.
    ctx = {
        "organization": project.organization,
        "project": project,
        **setup_context(project),
    }
    return _render(request, "issues/waiting.html", "issues/_waiting.html", ctx)


@login_required
def organization_issues(request: HttpRequest, org_slug: str) -> HttpResponse:
    """The issues of every project of an organization."""
    membership = get_membership(request.user, org_slug)
    return _issue_list(request, membership, None)


def _issue_list(
    request: HttpRequest, membership: Membership, project: Project | None
) -> HttpResponse:
    org = membership.organization
    now = timezone.now()
    state = listing.ListState.from_params(request.GET)
    error = ""
    # The organization-wide list may be narrowed to one of its projects;
    # an unknown slug shows every project.
    org_projects = list(org.projects.order_by("name")) if project is None else []
    project_filter = next((p for p in org_projects if p.slug == state.project), None)
    try:
        issues = listing.matching_issues(
            org, project or project_filter, state, user=request.user, now=now
        )
        page = listing.issue_page(issues, state)
    except SearchError as exc:
        page, error = Page([], None, None), exc.message
    prev_link, next_link = listing.page_links(state, page)
    if state.query != listing.DEFAULT_QUERY and not state.cursor:
        count_use("searches", org)
    if "is:for_review" in state.query and not state.cursor:
        count_use("review_inbox", org)
    searches = listing.visible_saved_searches(org, project, request.user)
    ctx = {
        "organization": org,
        "project": project,
        "project_filter": project_filter,
        "org_projects": org_projects,
        "can_act": membership.has_role(Role.MEMBER),
        "state": state,
        "search_error": error,
        "rows": listing.issue_rows(page.items, state.period, now),
        "prev_link": prev_link,
        "next_link": next_link,
        "review_tabs": listing.review_tabs(
            state, sum(listing.waiting_for_review(org, now, project).values())
        ),
        "sort_links": listing.sort_links(state),
        "period_links": listing.period_links(state),
        "period": listing.PERIODS[state.period],
        "saved_searches": [
            (s, listing.ListState(query=s.query, sort=s.sort).querystring())
            for s in searches
        ],
        "now": now,
        **_action_context(org),
    }
    return _render(request, "issues/list.html", "issues/_list_results.html", ctx)


@login_required
@require_POST
def bulk_action(request: HttpRequest, org_slug: str) -> HttpResponse:
    """Apply one action to the ticked issues, or to all matching the list's
    search; then go back to the list."""
    membership = get_membership(request.user, org_slug, Role.MEMBER)
    org = membership.organization
    project = _scoped_project(org, request.POST.get("project", ""))
    back = _next_url(
        request, project.get_absolute_url() if project else org.get_absolute_url()
    )
    try:
        issues = selected_issues(
            request.POST, org, project, user=request.user, now=timezone.now()
        )
    except SearchError as exc:
        messages.error(request, exc.message)
        return redirect(back)
    if _perform(request, IssueActionForm(request.POST, organization=org), issues):
        count_use("bulk_actions", org)
    return redirect(back)


def _scoped_project(organization: Organization, slug: str) -> Project | None:
    if not slug:
        return None
    return get_object_or_404(Project, organization=organization, slug=slug)


def _next_url(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next", "")
    safe = target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return target if safe else fallback


def _perform(
    request: HttpRequest, form: IssueActionForm, issues: QuerySet[Issue]
) -> Outcome | None:
    """Validate the form and run its action, reporting through messages."""
    if not form.is_valid():
        messages.error(request, form.first_error())
        return None
    if not issues.exists():
        messages.error(request, "Select at least one issue.")
        return None
    try:
        outcome = form.run(issues, user=request.user, now=timezone.now())
    except actions.IssueActionError as exc:
        messages.error(request, exc.message)
        return None
    messages.success(request, outcome.message)
    return outcome


@login_required
@require_POST
def save_search(request: HttpRequest, org_slug: str) -> HttpResponse:
    """Save the list's current search for oneself, or shared."""
    membership = get_membership(request.user, org_slug, Role.MEMBER)
    org = membership.organization
    project = _scoped_project(org, request.POST.get("project", ""))
    form = SavedSearchForm(request.POST)
    if form.is_valid():
        SavedSearch.objects.create(
            organization=org, project=project, owner=request.user, **form.cleaned_data
        )
        messages.success(request, f"Saved the search “{form.cleaned_data['name']}”.")
    else:
        messages.error(request, "Give the search a name.")
    return redirect(_next_url(request, org.get_absolute_url()))


@login_required
@require_POST
def delete_search(request: HttpRequest, org_slug: str, pk: int) -> HttpResponse:
    """Delete a saved search: its owner may, and admins may for shared ones."""
    membership = get_membership(request.user, org_slug, Role.MEMBER)
    search = get_object_or_404(SavedSearch, pk=pk, organization=membership.organization)
    if search.owner_id != request.user.pk and not search.is_shared:
        raise Http404("No such search")
    if search.owner_id != request.user.pk and not membership.has_role(Role.ADMIN):
        raise PermissionDenied("Only its owner or an admin can delete a shared search.")
    search.delete()
    messages.success(request, f"Deleted the search “{search.name}”.")
    return redirect(_next_url(request, membership.organization.get_absolute_url()))


# The issue page ----------------------------------------------------------


@login_required
def issue_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The issue page, showing its latest event."""
    issue, membership = _get_issue(request.user, pk)
    return _issue_page(request, issue, membership, overview.latest_event(issue))


@login_required
def event_detail(request: HttpRequest, pk: int, event_id: str) -> HttpResponse:
    """The issue page showing one event ("latest" and "oldest" work too);
    htmx asks for the event part alone."""
    issue, membership = _get_issue(request.user, pk)
    event = overview.find_event(issue, event_id)
    if event is None:
        raise Http404("No such event")
    if _is_partial(request):
        return _render(
            request, "", "issues/_event.html", _event_context(request, issue, event)
        )
    return _issue_page(request, issue, membership, event)


def _issue_page(
    request: HttpRequest, issue: Issue, membership: Membership, event: Event | None
) -> HttpResponse:
    now = timezone.now()
    hourly, daily = overview.histograms(issue, now)
    activity = _activity_rows(issue)
    ctx = {
        "issue": issue,
        "project": issue.project,
        "organization": issue.project.organization,
        "can_act": membership.has_role(Role.MEMBER),
        "is_bookmarked": issue.bookmarked_by.filter(pk=request.user.pk).exists(),
        "issue_assignee_value": _assignee_value(issue),
        "hourly_chart": hourly,
        "daily_chart": daily,
        "tags": overview.tag_distributions(issue),
        "releases": overview.seen_in(issue, "release"),
        "environments": overview.seen_in(issue, "environment"),
        "activity": activity,
        "resolved_by": _resolver(issue, activity),
        "correlation": issue_overview(issue),
        "similar_issues": similar.similar_issues(issue),
        "issue_owner": IssueOwner.objects.filter(issue=issue)
        .select_related("user", "team")
        .first(),
        "comment_form": CommentForm(),
        "now": now,
        **_events_context(issue, "", None),
        **_action_context(issue.project.organization),
    }
    if event is not None:
        ctx.update(_event_context(request, issue, event))
    # Only the first visit (or one while the issue waits for review) writes:
    # on SQLite every write queues for the one write lock behind digest, and
    # a page view should not wait there.
    if issue.inbox_reason or not issue.seen_by.filter(pk=request.user.pk).exists():
        actions.mark_seen(issue, request.user)
    return render(request, "issues/detail.html", ctx)


def _resolver(issue: Issue, activity: list[dict]) -> User | None:
    # The newest "resolved" activity says who resolved a resolved issue;
    # digest resolves nothing, so no user means it was Fixtrail itself.
    if issue.status != "resolved":
        return None
    for row in activity:
        if row["activity"].kind == "resolved":
            return row["activity"].user
    return None


def _assignee_value(issue: Issue) -> str:
    if issue.assignee_id:
        return f"user:{issue.assignee_id}"
    if issue.assignee_team_id:
        return f"team:{issue.assignee_team_id}"
    return ""


def _event_context(request: HttpRequest, issue: Issue, event: Event) -> dict:
    frames = None
    try:
        frames = choose_frames(event.get_data(), raw=request.GET.get("raw") == "1")
        view, data_error = display.event_view(frames.data), ""
    except CorruptEventData as exc:
        view, data_error = None, str(exc)
    older, newer = overview.neighbours(issue, event)
    project = issue.project
    return {
        "issue": issue,
        "event": event,
        "view": view,
        "data_error": data_error,
        "older": older,
        "newer": newer,
        "all_frames": request.GET.get("frames") == "all",
        # Original or minified frames, and what could not be resolved.
        "frames_choice": frames,
        "tag_links": _tag_links(project, view.tags if view else []),
        "attachments": Attachment.objects.filter(
            project_id=project.pk, event_id=event.event_id
        ).order_by("name"),
        "reports": UserReport.objects.filter(
            project_id=project.pk, event_id=event.event_id
        ).order_by("created_at"),
        "now": timezone.now(),
    }


def _tag_links(
    project: Project, tags: list[tuple[str, str]]
) -> list[tuple[str, str, str]]:
    """Each tag with the query that lists the project's issues carrying it."""
    return [(key, value, quote_term(key, value)) for key, value in tags]


def _activity_rows(issue: Issue) -> list[dict]:
    return [
        {
            "activity": activity,
            "detail": overview.activity_detail(activity),
            "text": activity.data.get("text", "")
            if isinstance(activity.data, dict)
            else "",
        }
        for activity in overview.activities(issue)
    ]


@login_required
def issue_events(request: HttpRequest, pk: int) -> HttpResponse:
    """The issue's events, newest first, with search and cursor pages."""
    issue, membership = _get_issue(request.user, pk)
    ctx = {
        "issue": issue,
        "project": issue.project,
        "organization": issue.project.organization,
        "now": timezone.now(),
        **_events_context(
            issue, request.GET.get("query", ""), request.GET.get("cursor")
        ),
    }
    return _render(request, "issues/events.html", "issues/_events.html", ctx)


def _events_context(issue: Issue, query: str, cursor: str | None) -> dict:
    try:
        page, error = overview.event_page(issue, query, cursor), ""
    except SearchError as exc:
        page, error = Page([], None, None), exc.message
    return {"events_page": page, "events_query": query, "events_error": error}


@login_required
def event_json(request: HttpRequest, pk: int, event_id: str) -> HttpResponse:
    """Download the stored (normalized) event as JSON."""
    issue, _ = _get_issue(request.user, pk)
    event = overview.find_event(issue, event_id)
    if event is None:
        raise Http404("No such event")
    try:
        body = orjson.dumps(event.get_data(), option=orjson.OPT_INDENT_2)
    except CorruptEventData:
        raise Http404("The stored event is unreadable") from None
    response = HttpResponse(body, content_type="application/json")
    response["Content-Disposition"] = content_disposition_header(
        True, f"{event.event_id}.json"
    )
    return response


@login_required
def attachment(request: HttpRequest, pk: int, attachment_id: int) -> FileResponse:
    """Download an attachment of one of the issue's events (never inline)."""
    issue, _ = _get_issue(request.user, pk)
    item = get_object_or_404(Attachment, pk=attachment_id, project_id=issue.project_id)
    if not Event.objects.filter(
        project_id=issue.project_id, event_id=item.event_id, issue=issue
    ).exists():
        raise Http404("No such attachment")
    try:
        content = blob_store().open(item.path)
    except (FileNotFoundError, ValueError):
        raise Http404("The attachment file is missing") from None
    return FileResponse(
        content,
        as_attachment=True,
        filename=item.name or "attachment",
        content_type="application/octet-stream",
    )


# Actions on one issue ----------------------------------------------------


@login_required
@require_POST
def issue_action(request: HttpRequest, pk: int) -> HttpResponse:
    """Resolve, ignore, assign, bookmark, prioritise, merge or delete one
    issue, then show it again (or its project, once deleted)."""
    issue, membership = _get_issue(request.user, pk, Role.MEMBER)
    form = IssueActionForm(request.POST, organization=membership.organization)
    issues = Issue.objects.filter(pk=issue.pk)
    if form.is_valid() and form.cleaned_data["action"] == "merge":
        issues = Issue.objects.filter(pk=issue.pk) | _merge_targets(
            issue.project, request.POST.get("merge_with", "")
        )
    outcome = _perform(request, form, issues)
    if outcome is not None and outcome.deleted:
        return redirect(issue.project.get_absolute_url())
    if outcome is not None and outcome.survivor is not None:
        return redirect(outcome.survivor.get_absolute_url())
    return redirect(issue.get_absolute_url())


def _merge_targets(project: Project, text: str) -> QuerySet[Issue]:
    """The project's issues named in ``text`` by short id (BACKEND-1A)."""
    prefix = project.short_id_prefix + "-"
    numbers = []
    for word in text.replace(",", " ").split()[:MAX_MERGE_ISSUES]:
        word = word.upper()
        if word.startswith(prefix):
            try:
                numbers.append(int(word[len(prefix) :], 36))
            except ValueError:
                continue
    return Issue.objects.filter(project=project, short_id__in=numbers)


@login_required
@require_POST
def add_comment(request: HttpRequest, pk: int) -> HttpResponse:
    """Add a comment to the issue's activity."""
    issue, _ = _get_issue(request.user, pk, Role.MEMBER)
    form = CommentForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Write a comment first (at most 10,000 characters).")
        return redirect(issue.get_absolute_url() + "#activity")
    try:
        actions.add_comment(issue, user=request.user, text=form.cleaned_data["text"])
    except actions.IssueActionError as exc:
        messages.error(request, exc.message)
    return redirect(issue.get_absolute_url() + "#activity")
