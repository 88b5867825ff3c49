"""User feedback pages: a project's and an issue's list, and the crash-report
dialog that ``Sentry.showReportDialog()`` opens.

The dialog works in two steps. The SDK adds
``<script src="{host}/api/embed/error-page/?dsn=...&eventId=...">`` to the
page; that script (``error_page`` without ``format``) lays an iframe over the
page showing the same URL with ``format=html``, a plain form that posts back
to itself. Closing the dialog posts ``__sentry_reportdialog_closed__`` to the
page, the message the SDK's ``onClose`` waits for. Pinned reference for the
URL and the message:
https://github.com/getsentry/sentry-javascript/blob/8.0.0/packages/browser/src/sdk.ts
"""

from __future__ import annotations

import json

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from fixtrail.api.access import issue_for
from fixtrail.api.serializers import absolute_url
from fixtrail.events.feedback import (
    FeedbackError,
    clean_event_id,
    reports_of_issue,
    reports_of_project,
    submit_feedback,
    with_issues,
)
from fixtrail.ingest.auth import key_from_dsn
from fixtrail.ingest.exceptions import BadRequest
from fixtrail.ingest.keys import lookup_key
from fixtrail.projects.access import get_project
from fixtrail.projects.models import Project

# A screenful; older feedback is a page further.
PER_PAGE = 50

# The dialog's texts and the SDK option that overrides each one.
DIALOG_TEXTS = {
    "title": "It looks like we’re having issues.",
    "subtitle": "Our team has been notified.",
    "subtitle2": "If you’d like to help, tell us what happened below.",
    "labelName": "Name",
    "labelEmail": "Email",
    "labelComments": "What happened?",
    "labelSubmit": "Submit Crash Report",
    "labelClose": "Close",
    "successMessage": "Your feedback has been sent. Thank you!",
}
# The site policy (core.middleware) with one change: any page may frame the
# dialog, since it opens inside the customer's own site.
DIALOG_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors *"
)
# Longer option values are not labels; they are cut rather than refused so
# the dialog still opens.
MAX_TEXT_CHARS = 200


@login_required
def project_feedback(
    request: HttpRequest, org_slug: str, project_slug: str
) -> HttpResponse:
    """List what users said about a project, newest first."""
    project, _ = get_project(request.user, org_slug, project_slug)
    page = Paginator(reports_of_project(project), PER_PAGE).get_page(
        request.GET.get("page")
    )
    ctx = {
        "organization": project.organization,
        "project": project,
        "page": page,
        "rows": with_issues(project, list(page.object_list)),
    }
    return render(request, "projects/feedback.html", ctx)


@login_required
def issue_feedback(request: HttpRequest, pk: int) -> HttpResponse:
    """List what users said about the events of one issue, newest first."""
    issue, _ = issue_for(request.user, str(pk))
    project = issue.project
    page = Paginator(reports_of_issue(issue), PER_PAGE).get_page(
        request.GET.get("page")
    )
    ctx = {
        "organization": project.organization,
        "project": project,
        "issue": issue,
        "page": page,
        "rows": with_issues(project, list(page.object_list)),
    }
    return render(request, "projects/feedback.html", ctx)


@csrf_exempt
@xframe_options_exempt
@require_http_methods(["GET", "POST"])
def error_page(request: HttpRequest) -> HttpResponse:
    """Serve the crash-report dialog: its loader script, its form, and the
    form's answer.

    The DSN's public key is the credential, as for the SDK endpoints, so the
    form needs no CSRF token (it is posted from inside the dialog's iframe).
    """
    project, event_id = _dialog_target(request)
    texts = _dialog_texts(request)
    if request.method == "GET" and request.GET.get("format") != "html":
        return _loader_script(request)
    values = {
        "name": request.GET.get("name", ""),
        "email": request.GET.get("email", ""),
        "comments": "",
    }
    ctx = {"texts": texts, "values": values, "error": None, "sent": False}
    status = 200
    if request.method == "POST":
        values.update(
            (field, request.POST.get(field, ""))
            for field in ("name", "email", "comments")
        )
        try:
            submit_feedback(project, event_id=event_id, now=timezone.now(), **values)
            ctx["sent"] = True
        except FeedbackError as exc:
            ctx["error"], status = exc.message, 400
    response = render(request, "projects/error_page.html", ctx, status=status)
    response["Content-Security-Policy"] = DIALOG_CSP
    return response


def _dialog_target(request: HttpRequest) -> tuple[Project, str]:
    """Return the project of the ``dsn`` parameter and the ``eventId``;
    Http404 for a missing, unknown or disabled key or a malformed id."""
    try:
        public_key = key_from_dsn(request.GET.get("dsn", ""))
        event_id = clean_event_id(request.GET.get("eventId", ""))
    except (BadRequest, FeedbackError):
        raise Http404("The dsn or eventId parameter is missing or malformed") from None
    info = lookup_key(public_key) if public_key else None
    if info is None or not info.is_active:
        raise Http404("No such DSN")
    project = Project.objects.filter(pk=info.project_id).first()
    if project is None:
        raise Http404("No such DSN")
    return project, event_id


def _dialog_texts(request: HttpRequest) -> dict[str, str]:
    return {
        key: (request.GET.get(key) or default)[:MAX_TEXT_CHARS]
        for key, default in DIALOG_TEXTS.items()
    }


def _loader_script(request: HttpRequest) -> HttpResponse:
    query = request.GET.copy()
    query["format"] = "html"
    form_url = absolute_url(f"{request.path}?{query.urlencode()}")
    # json.dumps escapes quotes; "<" is escaped too so the value can never
    # close a surrounding <script> element if a page inlines this script.
    src = json.dumps(form_url).replace("<", "\\u003c")
    script = _LOADER.replace("FORM_URL", src)
    return HttpResponse(script, content_type="text/javascript; charset=utf-8")


_LOADER = """(function () {
  var wrapper = document.createElement("div");
  wrapper.className = "fixtrail-report-dialog";
  wrapper.style.cssText = "position:fixed;inset:0;z-index:2147483647;" +
    "background:rgba(0,0,0,.5);display:flex;align-items:center;" +
    "justify-content:center";
  var frame = document.createElement("iframe");
  frame.src = FORM_URL;
  frame.title = "Crash report";
  frame.style.cssText = "border:0;background:#fff;border-radius:6px;" +
    "width:min(32rem,95vw);height:min(34rem,95vh)";
  wrapper.appendChild(frame);
  function close(event) {
    if (event.source !== frame.contentWindow || event.data !== "fixtrail:close") {
      return;
    }
    window.removeEventListener("message", close);
    wrapper.remove();
    window.postMessage("__sentry_reportdialog_closed__", "*");
  }
  window.addEventListener("message", close);
  document.body.appendChild(wrapper);
})();
"""
