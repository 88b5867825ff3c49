"""Bearer-token authentication with Sentry's scopes, for both web APIs.

A request carries ``Authorization: Bearer sntryu_<64 hex>``. Each endpoint
names the scope it needs; a token with a broader scope of the same resource
also passes (``event:admin`` covers ``event:write`` covers ``event:read``),
as Sentry's permission classes accept. The scope only says what the token
may be used for: the token's user must still be a member of the
organization, with a role that allows the action (checked by the views
through the access helpers).

Answers: no or malformed header 401, unknown or revoked token 401, token
without the scope 403, over the per-token rate limit 429.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.http import HttpRequest
from ninja.security import HttpBearer

from fixtrail.accounts.models import ApiToken
from fixtrail.api.errors import InvalidToken, MissingScope, RateLimited
from fixtrail.api.ratelimits import api_rate_limit_per_minute, consume_token_request

# Within one resource, each level includes the ones before it.
SCOPE_LEVELS = ("read", "write", "admin")

# Tokens are "sntryu_" plus 64 hex digits; a header much longer than that is
# not a token and is refused before it reaches the database.
MAX_TOKEN_LENGTH = 128


def scope_granted(granted: Iterable[str], needed: str) -> bool:
    """Return True when a token with scopes ``granted`` may use ``needed``.

    ``project:releases`` and other scopes outside read/write/admin match
    only themselves.
    """
    granted = set(granted)
    resource, _, level = needed.partition(":")
    if level not in SCOPE_LEVELS:
        return needed in granted
    covering = SCOPE_LEVELS[SCOPE_LEVELS.index(level) :]
    return any(f"{resource}:{each}" in granted for each in covering)


def authenticate_token(request: HttpRequest, clear: str) -> ApiToken:
    """Return the active token for ``clear`` and count the request against it.

    Sets ``request.user`` to the token's user, so the views and the access
    helpers see who acts. Raises InvalidToken or RateLimited.
    """
    clear = clear.strip()
    token = None
    if clear and len(clear) <= MAX_TOKEN_LENGTH:
        token = ApiToken.objects.for_token(clear)
    if token is None or not token.user.is_active:
        raise InvalidToken()
    retry_after = consume_token_request(token.pk)
    if retry_after is not None:
        raise RateLimited(api_rate_limit_per_minute(), retry_after)
    token.touch()
    request.user = token.user
    return token


def optional_token(request: HttpRequest) -> ApiToken | None:
    """Return the request's token, or None when it sends no Bearer header.

    A header that names an unknown token still raises InvalidToken: a client
    that meant to authenticate must learn that it did not.
    """
    scheme, _, clear = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return authenticate_token(request, clear)


class TokenAuth(HttpBearer):
    """ninja auth: a valid token whose scopes cover ``scope`` (any valid
    token when ``scope`` is empty)."""

    def __init__(self, scope: str) -> None:
        super().__init__()
        self.scope = scope

    def authenticate(self, request: HttpRequest, token: str) -> ApiToken:
        api_token = authenticate_token(request, token)
        if self.scope and not scope_granted(api_token.scopes, self.scope):
            raise MissingScope(self.scope)
        return api_token


def scoped(scope: str) -> list[TokenAuth]:
    """Return the ``auth=`` value for an endpoint that needs ``scope``."""
    return [TokenAuth(scope)]
