"""Encrypt secrets kept at rest (tracker tokens, webhook secrets).

    keys = derive_key("the SECRET_KEY")            # or configured Fernet keys
    token = seal("glpat-abc", [keys])              # "gAAAAAB…"
    unseal(token, [keys]) == "glpat-abc"

Keys are Fernet keys, newest first: sealing uses the first, unsealing tries
each (cryptography's MultiFernet), so a key is rotated by putting a new
one in front and re-sealing at leisure.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cryptography.fernet import MultiFernet


class SealError(Exception):
    """A sealed value that none of the keys opens."""


def derive_key(secret: str) -> str:
    """Return a Fernet key derived from ``secret`` (the app's secret key)."""
    digest = hashlib.sha256(b"fixtrail.sealing:" + secret.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()


def _fernet(keys: Sequence[str]) -> MultiFernet:
    # cryptography is imported when a secret is first sealed or opened, not
    # with the settings: most processes never do (about 7 MB each).
    from cryptography.fernet import Fernet, MultiFernet

    if not keys:
        raise SealError("no encryption key is configured")
    return MultiFernet([Fernet(key.encode()) for key in keys])


def seal(plaintext: str, keys: Sequence[str]) -> str:
    """Return ``plaintext`` encrypted with the first of ``keys``."""
    return _fernet(keys).encrypt(plaintext.encode()).decode()


def unseal(token: str, keys: Sequence[str]) -> str:
    """Return the plaintext of ``token``; raise SealError if no key opens it."""
    from cryptography.fernet import InvalidToken

    try:
        return _fernet(keys).decrypt(token.encode()).decode()
    except InvalidToken:
        raise SealError(
            "a stored secret cannot be decrypted with the configured keys "
            "(FIXTRAIL_ENCRYPTION_KEYS)"
        ) from None


def is_valid_key(key: str) -> bool:
    """Return whether ``key`` is a usable Fernet key."""
    try:
        # Checking the key's form needs no cryptography: 32 bytes, url-safe
        # base64, as Fernet itself checks it.
        return len(base64.urlsafe_b64decode(key.encode())) == 32
    except ValueError:
        return False
