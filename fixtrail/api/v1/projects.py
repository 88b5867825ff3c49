"""Organizations, members, projects and DSN keys in Fixtrail's own API.

Changes go through the same forms and functions as the settings pages:
viewers and members read, admins create projects, change settings and
manage keys.
"""

from __future__ import annotations

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Router, Status

from fixtrail.accounts.models import Membership, Organization, Role
from fixtrail.api.access import membership_for, parse_id, project_for
from fixtrail.api.auth import scoped
from fixtrail.api.errors import BadRequest
from fixtrail.api.v1 import schemas
from fixtrail.projects.forms import ProjectCreateForm, ProjectSettingsForm
from fixtrail.projects.models import Project, ProjectKey, create_project_with_key

router = Router(tags=["projects"])

SETTINGS_FIELDS = tuple(ProjectSettingsForm.Meta.fields)


def _form_error(form: object) -> str:
    for field, errors in form.errors.items():
        name = "" if field == "__all__" else f"{field}: "
        return f"{name}{errors[0]}"
    return "The input is not valid."


@router.get(
    "/organizations", response=list[schemas.OrganizationOut], auth=scoped("org:read")
)
def organizations(request: HttpRequest) -> list[dict]:
    """The organizations the token's user belongs to, with their role."""
    memberships = (
        Membership.objects.filter(user=request.user)
        .select_related("organization")
        .order_by("organization__name", "organization__pk")
    )
    return [
        {
            "id": m.organization.pk,
            "slug": m.organization.slug,
            "name": m.organization.name,
            "created_at": m.organization.created_at,
            "role": m.role,
        }
        for m in memberships
    ]


@router.get(
    "/organizations/{org_slug}/members",
    response=list[schemas.MemberOut],
    auth=scoped("member:read"),
)
def members(request: HttpRequest, org_slug: str) -> list[dict]:
    membership = membership_for(request.user, org_slug)
    rows = membership.organization.memberships.select_related("user").order_by(
        "user__email"
    )
    return [
        {
            "user_id": m.user.pk,
            "email": m.user.email,
            "name": m.user.name,
            "role": m.role,
            "joined_at": m.created_at,
        }
        for m in rows
    ]


def project_out(project: Project, org: Organization) -> dict:
    """Return a project's answer; its DSN runs one query."""
    key = project.primary_key()
    return {
        "id": project.pk,
        "organization": org.slug,
        "slug": project.slug,
        "name": project.name,
        "platform": project.platform,
        "created_at": project.created_at,
        "dsn": key.dsn if key else None,
    }


def project_detail(project: Project, org: Organization) -> dict:
    settings = {name: getattr(project, name) for name in SETTINGS_FIELDS}
    return {**project_out(project, org), "settings": settings}


@router.get(
    "/organizations/{org_slug}/projects",
    response=list[schemas.ProjectOut],
    auth=scoped("project:read"),
)
def projects(request: HttpRequest, org_slug: str) -> list[dict]:
    membership = membership_for(request.user, org_slug)
    org = membership.organization
    return [project_out(p, org) for p in org.projects.order_by("name", "pk")]


@router.post(
    "/organizations/{org_slug}/projects",
    response={201: schemas.ProjectDetailOut},
    auth=scoped("project:write"),
)
def create_project(
    request: HttpRequest, org_slug: str, body: schemas.ProjectCreateIn
) -> Status:
    """Create a project with its first DSN key (admins)."""
    membership = membership_for(request.user, org_slug, Role.ADMIN)
    form = ProjectCreateForm(body.dict())
    if not form.is_valid():
        raise BadRequest(_form_error(form))
    org = membership.organization
    project = create_project_with_key(
        org, form.cleaned_data["name"], form.cleaned_data["platform"]
    )
    return Status(201, project_detail(project, org))


@router.get(
    "/projects/{org_slug}/{project_slug}",
    response=schemas.ProjectDetailOut,
    auth=scoped("project:read"),
)
def project(request: HttpRequest, org_slug: str, project_slug: str) -> dict:
    """A project with its settings."""
    project, membership = project_for(request.user, org_slug, project_slug)
    return project_detail(project, membership.organization)


@router.patch(
    "/projects/{org_slug}/{project_slug}",
    response=schemas.ProjectDetailOut,
    auth=scoped("project:write"),
)
def update_project(
    request: HttpRequest,
    org_slug: str,
    project_slug: str,
    body: schemas.ProjectSettingsPatch,
) -> dict:
    """Change some of a project's settings (admins); the rest stay."""
    project, membership = project_for(request.user, org_slug, project_slug, Role.ADMIN)
    data = {name: getattr(project, name) for name in SETTINGS_FIELDS}
    data.update(body.dict(exclude_none=True))
    form = ProjectSettingsForm(data, instance=project)
    if not form.is_valid():
        raise BadRequest(_form_error(form))
    form.save()
    return project_detail(project, membership.organization)


def key_out(key: ProjectKey) -> dict:
    return {
        "id": key.pk,
        "label": key.label,
        "public_key": key.public_key,
        "secret_key": key.secret_key,
        "dsn": key.dsn,
        "is_active": key.is_active,
        "rate_limit_per_minute": key.rate_limit_per_minute,
        "created_at": key.created_at,
    }


@router.get(
    "/projects/{org_slug}/{project_slug}/keys",
    response=list[schemas.KeyOut],
    auth=scoped("project:read"),
)
def keys(request: HttpRequest, org_slug: str, project_slug: str) -> list[dict]:
    project, _ = project_for(request.user, org_slug, project_slug)
    return [key_out(key) for key in project.keys.order_by("pk")]


@router.post(
    "/projects/{org_slug}/{project_slug}/keys",
    response={201: schemas.KeyOut},
    auth=scoped("project:write"),
)
def create_key(
    request: HttpRequest, org_slug: str, project_slug: str, body: schemas.KeyCreateIn
) -> Status:
    """Add a DSN key to a project (admins)."""
    project, _ = project_for(request.user, org_slug, project_slug, Role.ADMIN)
    key = ProjectKey.objects.create(project=project, label=body.label)
    return Status(201, key_out(key))


@router.patch(
    "/projects/{org_slug}/{project_slug}/keys/{key_id}",
    response=schemas.KeyOut,
    auth=scoped("project:write"),
)
def update_key(
    request: HttpRequest,
    org_slug: str,
    project_slug: str,
    key_id: str,
    body: schemas.KeyPatch,
) -> dict:
    """Rename, enable or disable a key, or change its rate limit (admins)."""
    project, _ = project_for(request.user, org_slug, project_slug, Role.ADMIN)
    key = get_object_or_404(project.keys, pk=parse_id(key_id))
    changes = body.dict(exclude_none=True)
    for name, value in changes.items():
        setattr(key, name, value)
    if changes:
        key.save(update_fields=list(changes))
    return key_out(key)
