"""The token user's own API tokens.

Any valid token may list and revoke its user's tokens. A new token can
have only scopes the calling token has, so a narrow token never mints a
broader one.
"""

from __future__ import annotations

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Router, Status

from fixtrail.accounts.models import SCOPES, ApiToken
from fixtrail.api.access import parse_id
from fixtrail.api.auth import scope_granted, scoped
from fixtrail.api.errors import BadRequest
from fixtrail.api.v1 import schemas

router = Router(tags=["tokens"])

# Listing or revoking one's own tokens needs no particular scope.
ANY_SCOPE = ""


def token_out(token: ApiToken) -> dict:
    return {
        "id": token.pk,
        "name": token.name,
        "token_start": token.token_start,
        "scopes": list(token.scopes),
        "created_at": token.created_at,
        "last_used_at": token.last_used_at,
    }


@router.get("/tokens", response=list[schemas.TokenOut], auth=scoped(ANY_SCOPE))
def tokens(request: HttpRequest) -> list[dict]:
    """The user's active tokens (never their secrets)."""
    rows = request.user.api_tokens.active().order_by("-created_at", "-pk")
    return [token_out(token) for token in rows]


@router.post("/tokens", response={201: schemas.TokenCreatedOut}, auth=scoped(ANY_SCOPE))
def create_token(request: HttpRequest, body: schemas.TokenCreateIn) -> Status:
    """Create a token; its value is in this answer only."""
    unknown = sorted(set(body.scopes) - set(SCOPES))
    if unknown:
        raise BadRequest(f"Unknown scopes: {', '.join(unknown)}.")
    broader = sorted(
        s for s in body.scopes if not scope_granted(request.auth.scopes, s)
    )
    if broader:
        raise BadRequest(
            f"A token cannot grant scopes it does not have: {', '.join(broader)}."
        )
    token, clear = ApiToken.issue(request.user, body.name, body.scopes)
    return Status(201, {**token_out(token), "token": clear})


@router.delete("/tokens/{token_id}", response={204: None}, auth=scoped(ANY_SCOPE))
def revoke_token(request: HttpRequest, token_id: str) -> Status:
    """Revoke one of the user's tokens (the calling token included)."""
    token = get_object_or_404(request.user.api_tokens.active(), pk=parse_id(token_id))
    token.revoke()
    return Status(204, None)
