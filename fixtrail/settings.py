"""Django settings for Fixtrail.

Every setting an operator may change comes from a ``FIXTRAIL_*`` environment
variable, read here and only here (see the configuration table in README.md).
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

from fixtrail.lib.dsn import DSNError, parse_dsn
from fixtrail.lib.env import (
    database_from_url,
    envbool,
    envint,
    envsecret,
    envstr,
    queue_url,
)
from fixtrail.lib.outbound import DEFAULT_DENY, parse_networks
from fixtrail.lib.sealing import derive_key, is_valid_key

BASE_DIR = Path(__file__).resolve().parent
KiB = 1024
MiB = 1024 * KiB

DATA_DIR = Path(envstr("FIXTRAIL_DATA_DIR", "data")).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)
FIXTRAIL_DATA_DIR = DATA_DIR

DEBUG = envbool("FIXTRAIL_DEBUG", False)
# Production is the default; FIXTRAIL_DEBUG or FIXTRAIL_ENV=development relax
# the checks that `fixtrail check` reports.
ENVIRONMENT = envstr("FIXTRAIL_ENV", "production")


def _secret_key() -> str:
    key = envsecret("FIXTRAIL_SECRET_KEY")
    if key:
        return key
    # Generated once and kept beside the data so sessions survive restarts.
    path = DATA_DIR / "secret_key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(50))
    return path.read_text().strip()


try:
    SECRET_KEY = _secret_key()
except FileExistsError:  # another process created it a moment ago
    SECRET_KEY = (DATA_DIR / "secret_key").read_text().strip()

# Keys that seal secrets at rest (tracker tokens, webhook secrets): Fernet
# keys, newest first. Without them, one is derived from the secret key, so
# changing the secret key then makes stored secrets unreadable.
_keys = envsecret("FIXTRAIL_ENCRYPTION_KEYS") or ""
ENCRYPTION_KEYS = [k.strip() for k in _keys.split(",") if k.strip()] or [
    derive_key(SECRET_KEY)
]
for _key in ENCRYPTION_KEYS:
    if not is_valid_key(_key):
        raise ImproperlyConfigured(
            "FIXTRAIL_ENCRYPTION_KEYS must hold Fernet keys (32 url-safe "
            "base64-encoded bytes), comma-separated"
        )

BASE_URL = envstr("FIXTRAIL_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
_base = urlsplit(BASE_URL)
if _base.scheme not in ("http", "https") or not _base.hostname:
    raise ImproperlyConfigured(
        f"FIXTRAIL_BASE_URL={BASE_URL!r} must be an absolute http(s) URL"
    )

ALLOWED_HOSTS = [
    h.strip()
    for h in envstr(
        "FIXTRAIL_ALLOWED_HOSTS", f"{_base.hostname},127.0.0.1,localhost,[::1]"
    ).split(",")
    if h.strip()
]
CSRF_TRUSTED_ORIGINS = [f"{_base.scheme}://{_base.netloc}"]
CSRF_FAILURE_VIEW = "fixtrail.core.errors.csrf_failure"
FORM_RENDERER = "fixtrail.core.forms.FormRenderer"
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = _base.scheme == "https"
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
BEHIND_PROXY = envbool("FIXTRAIL_BEHIND_PROXY", False)
if BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    USE_X_FORWARDED_HOST = True

DATABASE_URL = envstr("FIXTRAIL_DATABASE_URL", "sqlite://fixtrail.sqlite3")
DATABASES = {"default": database_from_url(DATABASE_URL, DATA_DIR)}
QUEUE_URL = queue_url(envstr("FIXTRAIL_QUEUE_URL", "sqlite://queue.sqlite3"), DATA_DIR)

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "fixtrail.core",
    "fixtrail.accounts",
    "fixtrail.projects",
    "fixtrail.issues",
    "fixtrail.events",
    "fixtrail.digest",
    "fixtrail.ingest",
    "fixtrail.jobs",
    "fixtrail.releases",
    "fixtrail.integrations",
    "fixtrail.alerts",
    "fixtrail.symbols",
    "fixtrail.adoption",
    "fixtrail.api",
    "fixtrail.security",
    "fixtrail.usage",
    "axes",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    "allauth.socialaccount.providers.github",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "fixtrail.core.errors.api_errors_as_json",
    "fixtrail.core.middleware.content_security_policy",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "fixtrail.security.middleware.require_two_factor",
    "allauth.account.middleware.AccountMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "fixtrail.urls"
WSGI_APPLICATION = "fixtrail.wsgi.application"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "/"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "fixtrail.core.context_processors.navigation",
            ],
        },
    },
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = DATA_DIR / "static"

EMAIL_HOST = envstr("FIXTRAIL_EMAIL_HOST", "")
EMAIL_PORT = envint("FIXTRAIL_EMAIL_PORT", 587)
EMAIL_HOST_USER = envstr("FIXTRAIL_EMAIL_USER", "")
EMAIL_HOST_PASSWORD = envsecret("FIXTRAIL_EMAIL_PASSWORD") or ""
EMAIL_USE_TLS = envbool("FIXTRAIL_EMAIL_USE_TLS", True)
DEFAULT_FROM_EMAIL = envstr("FIXTRAIL_EMAIL_FROM", "fixtrail@localhost")
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend"
)
# Alert messages one destination (an address, a webhook, a chat URL) gets
# per hour at most, across rules and projects; the rest are dropped and
# counted on the rule's page.
ALERTS_HOURLY_CAP = envint("FIXTRAIL_ALERTS_HOURLY_CAP", 60)
# Fixtrail's own errors go to this DSN (off when empty); see
# fixtrail.core.selfmonitor.
SELF_DSN = envsecret("FIXTRAIL_SELF_DSN") or ""
if SELF_DSN:
    try:
        parse_dsn(SELF_DSN)
    except DSNError as exc:
        # Said here, at start-up, rather than as the SDK's traceback from
        # the first process that would send.
        raise ImproperlyConfigured(f"FIXTRAIL_SELF_DSN: {exc}") from None
SELF_ENVIRONMENT = envstr("FIXTRAIL_SELF_ENVIRONMENT", "production")
# Seconds between two evaluations of the alert rules: the longest an alert
# waits after digest stored what fired it.
ALERTS_EVALUATE_SECONDS = envint("FIXTRAIL_ALERTS_EVALUATE_SECONDS", 10)

# Ingest limits, mirroring the sizes Sentry's relay accepts so SDKs that
# work there work here. Each may be lowered by an operator.
INGEST_MAX_REQUEST_BYTES = envint("FIXTRAIL_INGEST_MAX_REQUEST_BYTES", 20 * MiB)
INGEST_MAX_EVENT_BYTES = envint("FIXTRAIL_INGEST_MAX_EVENT_BYTES", 1 * MiB)
# Larger envelopes (attachments, mostly) are not forwarded to a project's
# "also forward to" DSN, only counted (fixtrail.adoption.forwarding).
FORWARD_MAX_BYTES = envint("FIXTRAIL_FORWARD_MAX_BYTES", 1 * MiB)
INGEST_MAX_ATTACHMENT_BYTES = envint("FIXTRAIL_INGEST_MAX_ATTACHMENT_BYTES", 100 * MiB)
INGEST_MAX_ENVELOPE_BYTES = envint("FIXTRAIL_INGEST_MAX_ENVELOPE_BYTES", 200 * MiB)
INGEST_RATE_LIMIT_PER_MINUTE = envint("FIXTRAIL_RATE_LIMIT_PER_MINUTE", 0)
INGEST_QUOTA_PER_MONTH = envint("FIXTRAIL_QUOTA_PER_MONTH", 0)
# Items waiting for digest past which ingest answers 429 (0: no bound).
# 100,000 items are 0.3-1 GB of queue (SQLite file or Redis memory) and
# about a minute of digest at its measured rate.
QUEUE_MAX_ITEMS = envint("FIXTRAIL_QUEUE_MAX_ITEMS", 100_000)
# Seconds a worker may hold a read batch before another worker takes it
# over; the default is fixtrail.queue.VISIBILITY_TIMEOUT_SECONDS (60).
QUEUE_VISIBILITY_SECONDS = envint("FIXTRAIL_QUEUE_VISIBILITY_SECONDS", 60)
# Web API requests per token per minute (0 turns the limit off).
API_RATE_LIMIT_PER_MINUTE = envint("FIXTRAIL_API_RATE_LIMIT_PER_MINUTE", 1200)
DATA_UPLOAD_MAX_MEMORY_SIZE = INGEST_MAX_REQUEST_BYTES
# Uploaded artifacts (source-map bundles, ProGuard mappings): the largest
# assembled file, and how long an artifact digest has not used is kept.
FIXTRAIL_MAX_ARTIFACT_BYTES = envint("FIXTRAIL_MAX_ARTIFACT_BYTES", 200 * MiB)
FIXTRAIL_ARTIFACT_RETENTION_DAYS = envint("FIXTRAIL_ARTIFACT_RETENTION_DAYS", 90)
# Where attachments and uploaded artifacts are kept (fixtrail.storage):
# empty for files under the data directory, or file:///dir, or
# s3://bucket/prefix?endpoint_url=... for an S3-compatible object store.
STORAGE_URL = envstr("FIXTRAIL_STORAGE_URL", "")

# Minutes after a deploy before Fixtrail writes its note on each merge
# request of the deployed release: long enough for the release's errors to
# show up, short enough to reach the author while the change is fresh.
MR_FEEDBACK_MINUTES = envint("FIXTRAIL_MR_FEEDBACK_MINUTES", 60)
if MR_FEEDBACK_MINUTES < 0:
    raise ImproperlyConfigured(
        f"FIXTRAIL_MR_FEEDBACK_MINUTES={MR_FEEDBACK_MINUTES}: must be 0 or more"
    )

# Networks that outbound calls (webhooks, trackers) may never reach; the
# operator may add "loopback", "private" or CIDRs.
_deny = envstr("FIXTRAIL_OUTBOUND_DENY", ",".join(DEFAULT_DENY))
try:
    OUTBOUND_DENY_NETWORKS = parse_networks(_deny)
except ValueError as exc:
    raise ImproperlyConfigured(f"FIXTRAIL_OUTBOUND_DENY={_deny!r}: {exc}") from None

# Bearer token /metrics requires; without it, only loopback and private
# addresses may scrape.
METRICS_TOKEN = envsecret("FIXTRAIL_METRICS_TOKEN") or ""

# Account security (fixtrail/security; docs/operations.md, "Sign-in").
# django-axes locks sign-in for an account, and separately for a client
# address, after this many failures in a row, for this many minutes.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AXES_FAILURE_LIMIT = envint("FIXTRAIL_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=envint("FIXTRAIL_LOGIN_LOCK_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_USERNAME_CALLABLE = "fixtrail.security.throttle.account_name"
AXES_CLIENT_IP_CALLABLE = "fixtrail.security.throttle.client_address"
AXES_LOCKOUT_CALLABLE = "fixtrail.security.throttle.lockout_response"
AXES_VERBOSE = False
# Single sign-on: one OpenID Connect provider (GitLab, Google, Keycloak,
# Okta…) found through its discovery document at FIXTRAIL_OIDC_SERVER_URL.
PASSWORD_LOGIN = envbool("FIXTRAIL_PASSWORD_LOGIN", True)
OIDC_SERVER_URL = envstr("FIXTRAIL_OIDC_SERVER_URL", "")
OIDC_CLIENT_ID = envstr("FIXTRAIL_OIDC_CLIENT_ID", "")
SSO_SIGNUP = envbool("FIXTRAIL_SSO_SIGNUP", True)
SSO_DOMAIN_ORGS = envstr("FIXTRAIL_SSO_DOMAIN_ORGS", "")
SSO_GROUP_ORGS = envstr("FIXTRAIL_SSO_GROUP_ORGS", "")
SSO_GROUPS_CLAIM = envstr("FIXTRAIL_SSO_GROUPS_CLAIM", "groups")
SOCIALACCOUNT_PROVIDERS: dict = {"openid_connect": {"OAUTH_PKCE_ENABLED": True}}
if OIDC_SERVER_URL:
    SOCIALACCOUNT_PROVIDERS["openid_connect"]["SCOPE"] = envstr(
        "FIXTRAIL_OIDC_SCOPES", "openid profile email"
    ).split()
    SOCIALACCOUNT_PROVIDERS["openid_connect"]["APPS"] = [
        {
            "provider_id": "oidc",
            "name": envstr("FIXTRAIL_OIDC_NAME", "Single sign-on"),
            "client_id": OIDC_CLIENT_ID,
            "secret": envsecret("FIXTRAIL_OIDC_CLIENT_SECRET") or "",
            "settings": {"server_url": OIDC_SERVER_URL},
        }
    ]
# Sign in with GitHub (github.com or GitHub Enterprise Server at
# FIXTRAIL_GITHUB_URL); see fixtrail.security.github.
GITHUB_URL = envstr("FIXTRAIL_GITHUB_URL", "https://github.com")
GITHUB_CLIENT_ID = envstr("FIXTRAIL_GITHUB_CLIENT_ID", "")
GITHUB_ORGS = envstr("FIXTRAIL_GITHUB_ORGS", "")
if GITHUB_CLIENT_ID:
    SOCIALACCOUNT_PROVIDERS["github"] = {
        "SCOPE": ["user:email", "read:org"],
        "APPS": [
            {
                "client_id": GITHUB_CLIENT_ID,
                "secret": envsecret("FIXTRAIL_GITHUB_CLIENT_SECRET") or "",
            }
        ],
    }
ACCOUNT_ADAPTER = "fixtrail.security.sso.AccountAdapter"
SOCIALACCOUNT_ADAPTER = "fixtrail.security.sso.SocialAccountAdapter"
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*"]
ACCOUNT_EMAIL_VERIFICATION = "none"
SOCIALACCOUNT_AUTO_SIGNUP = True
SOCIALACCOUNT_EMAIL_AUTHENTICATION = True
SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = True
SOCIALACCOUNT_STORE_TOKENS = False
# Sign-on URLs are /sso/<provider>/login/ and /sso/<provider>/login/callback/.
SOCIALACCOUNT_OPENID_CONNECT_URL_PREFIX = ""

LOG_LEVEL = envstr("FIXTRAIL_LOG_LEVEL", "INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "fixtrail.core.logs.JsonFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
