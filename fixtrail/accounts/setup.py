"""First-run set-up: the one-time token that guards creating the first user,
and the scripted bootstrap used by containers and CI."""

from __future__ import annotations

import hmac
import secrets
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils.text import slugify

from fixtrail.accounts.models import (
    SCOPES,
    TOKEN_PREFIX,
    ApiToken,
    Membership,
    Organization,
    Role,
    User,
    hash_token,
)

SETUP_TOKEN_FILE = "setup_token"


def _token_path() -> Path:
    return Path(settings.DATA_DIR) / SETUP_TOKEN_FILE


def needs_setup() -> bool:
    """Return True while no user exists."""
    return not User.objects.exists()


def setup_token() -> str:
    """Return the one-time set-up token, creating it on first call.

    It lives in the data directory so every web process agrees on it; it is
    deleted when the first user is created.
    """
    path = _token_path()
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        token = secrets.token_urlsafe(24)
        path.write_text(token)
        path.chmod(0o600)
        return token


def check_setup_token(candidate: str) -> bool:
    """Return True when ``candidate`` is the current set-up token."""
    path = _token_path()
    if not candidate or not path.exists():
        return False
    return secrets.compare_digest(candidate, path.read_text().strip())


@transaction.atomic
def create_first_user(email: str, password: str, org_name: str) -> User:
    """Create the admin user and their organization, and retire the token."""
    user = User.objects.create_user(email, password, is_superuser=True)
    org = Organization.objects.create(slug=unique_org_slug(org_name), name=org_name)
    Membership.objects.create(user=user, organization=org, role=Role.OWNER)
    _token_path().unlink(missing_ok=True)
    return user


def unique_org_slug(name: str) -> str:
    """Return a slug for ``name`` that no organization has yet."""
    base = slugify(name)[:40] or "org"
    slug, n = base, 1
    while Organization.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


BOOTSTRAP_TOKEN_NAME = "bootstrap"


def _bootstrap_token(user: User) -> str:
    digest = hmac.new(
        settings.SECRET_KEY.encode(), f"bootstrap-token:{user.pk}".encode(), "sha256"
    ).hexdigest()
    return TOKEN_PREFIX + digest


@transaction.atomic
def bootstrap(org: str, project: str, email: str, password: str) -> dict:
    """Create what is missing of user, organization, project, key and token.

    Idempotent: a second run finds everything and prints the same JSON.
    Tokens are stored hashed, so the bootstrap token is derived from the
    secret key and the user instead of drawn at random: every run can print
    it again. Once revoked, it is replaced by a random one.
    """
    from fixtrail.projects.models import Project, ProjectKey

    user = User.objects.filter(email=email.lower()).first()
    if user is None:
        user = User.objects.create_user(email, password, is_superuser=True)
    organization, _ = Organization.objects.get_or_create(
        slug=slugify(org) or "org", defaults={"name": org}
    )
    Membership.objects.get_or_create(
        user=user, organization=organization, defaults={"role": Role.OWNER}
    )
    proj, _ = Project.objects.get_or_create(
        organization=organization,
        slug=slugify(project) or "project",
        defaults={"name": project},
    )
    key = proj.keys.filter(is_active=True).order_by("id").first()
    if key is None:
        key = ProjectKey.objects.create(project=proj)
    token = _bootstrap_token(user)
    existing = ApiToken.objects.filter(token_hash=hash_token(token)).first()
    if existing is None:
        ApiToken.objects.create(
            user=user,
            name=BOOTSTRAP_TOKEN_NAME,
            token_hash=hash_token(token),
            token_start=token[: len(TOKEN_PREFIX) + 6],
            scopes=sorted(SCOPES),
        )
    elif existing.revoked_at is not None:
        _, token = ApiToken.issue(user, BOOTSTRAP_TOKEN_NAME, list(SCOPES))
    return {
        "org": organization.slug,
        "project": proj.slug,
        "project_id": proj.pk,
        "dsn": key.dsn,
        "token": token,
    }
