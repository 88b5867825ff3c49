"""System checks that `fixtrail check` runs: unsafe or inconsistent settings."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Warning, register


# Deployment checks: `fixtrail check` runs them, ordinary commands stay quiet.
@register("fixtrail", deploy=True)
def check_settings(app_configs: object = None, **kwargs: object) -> list[Warning]:
    """Warn about settings that are unsafe in production."""
    warnings: list[Warning] = []
    production = settings.ENVIRONMENT == "production"
    if settings.DEBUG:
        warnings.append(
            Warning(
                "FIXTRAIL_DEBUG is on: error pages show settings and code.",
                hint="Unset FIXTRAIL_DEBUG outside development.",
                id="fixtrail.W001",
            )
        )
    if (
        not (settings.DATA_DIR / "secret_key").exists()
        and len(settings.SECRET_KEY) < 32
    ):
        warnings.append(
            Warning(
                "FIXTRAIL_SECRET_KEY is shorter than 32 characters.",
                hint="Set a long random value, or unset it to have one generated.",
                id="fixtrail.W002",
            )
        )
    base = urlsplit(settings.BASE_URL)
    local = base.hostname in ("127.0.0.1", "localhost", "::1")
    if production and base.scheme == "http" and not local:
        warnings.append(
            Warning(
                f"FIXTRAIL_BASE_URL={settings.BASE_URL} is plain HTTP: DSN keys, "
                "passwords and session cookies cross the network in clear.",
                hint="Serve Fixtrail over HTTPS and set an https:// base URL.",
                id="fixtrail.W003",
            )
        )
    if (
        base.hostname not in settings.ALLOWED_HOSTS
        and "*" not in settings.ALLOWED_HOSTS
    ):
        warnings.append(
            Warning(
                f"The host of FIXTRAIL_BASE_URL ({base.hostname}) is not in "
                "FIXTRAIL_ALLOWED_HOSTS, so DSN links will be refused.",
                hint="Add it to FIXTRAIL_ALLOWED_HOSTS.",
                id="fixtrail.W004",
            )
        )
    if "*" in settings.ALLOWED_HOSTS:
        warnings.append(
            Warning(
                "FIXTRAIL_ALLOWED_HOSTS contains '*'.",
                hint="List the host names Fixtrail is served under.",
                id="fixtrail.W005",
            )
        )
    if settings.EMAIL_HOST == "" and production:
        warnings.append(
            Warning(
                "No SMTP server configured: e-mails are printed to the console.",
                hint="Set FIXTRAIL_EMAIL_HOST (and user, password) to send e-mail.",
                id="fixtrail.W006",
            )
        )
    return warnings


@register("fixtrail", deploy=True)
def check_queue_durability(app_configs: object = None, **kwargs: object) -> list:
    """Warn when the Redis queue would lose accepted events on a restart."""
    if not settings.QUEUE_URL.startswith(("redis://", "rediss://")):
        return []
    import redis

    try:
        conn = redis.Redis.from_url(settings.QUEUE_URL, socket_timeout=2)
        appendonly = conn.config_get("appendonly").get("appendonly")
        conn.close()
    except redis.RedisError as exc:
        return [
            Warning(
                f"The Redis queue is not reachable: {exc.__class__.__name__}.",
                hint="Start Redis or fix FIXTRAIL_QUEUE_URL.",
                id="fixtrail.W008",
            )
        ]
    if appendonly != "yes":
        return [
            Warning(
                "Redis runs without its append-only file: events that SDKs "
                "were told are accepted are lost if Redis restarts before "
                "digest reads them.",
                hint="Run Redis with 'appendonly yes' and 'appendfsync everysec' "
                "(see docs/operations.md).",
                id="fixtrail.W007",
            )
        ]
    return []


@register("fixtrail", deploy=True)
def check_storage(app_configs: object = None, **kwargs: object) -> list:
    """Warn when the blob store (FIXTRAIL_STORAGE_URL) cannot be written:
    attachments would be refused (503) and uploads would fail."""
    from django.core.exceptions import ImproperlyConfigured

    from fixtrail.storage import blob_store

    probe = "fixtrail-check/probe"
    try:
        store = blob_store()
        store.put(probe, b"fixtrail check")
        store.delete(probe)
    except (ImproperlyConfigured, OSError) as exc:
        return [
            Warning(
                f"The blob store cannot be written: {exc}",
                hint="Fix FIXTRAIL_STORAGE_URL, the bucket's permissions "
                "(s3:PutObject, s3:GetObject, s3:DeleteObject, s3:ListBucket) "
                "or the credentials (see docs/operations.md).",
                id="fixtrail.W009",
            )
        ]
    return []
