from __future__ import annotations

import base64

import pytest
from cryptography.fernet import Fernet

from fixtrail.lib.sealing import SealError, derive_key, is_valid_key, seal, unseal

OLD = Fernet.generate_key().decode()
NEW = Fernet.generate_key().decode()


def test_it_opens_what_it_sealed():
    token = seal("glpat-secret", [NEW])
    assert "glpat-secret" not in token
    assert unseal(token, [NEW]) == "glpat-secret"


def test_it_opens_values_sealed_with_an_older_key():
    token = seal("old secret", [OLD])
    assert unseal(token, [NEW, OLD]) == "old secret"


def test_it_refuses_a_value_no_key_opens():
    token = seal("x", [OLD])
    with pytest.raises(SealError, match="cannot be decrypted"):
        unseal(token, [NEW])


def test_it_refuses_a_tampered_value():
    token = seal("x", [NEW])
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    with pytest.raises(SealError):
        unseal(tampered, [NEW])


def test_it_derives_a_stable_valid_key():
    assert derive_key("s3cret") == derive_key("s3cret")
    assert derive_key("s3cret") != derive_key("other")
    assert is_valid_key(derive_key("s3cret")) is True
    assert is_valid_key("not a key") is False


def _fernet_accepts(key: str) -> bool:
    try:
        Fernet(key)
    except ValueError:
        return False
    return True


@pytest.mark.parametrize(
    "key",
    [
        Fernet.generate_key().decode(),
        derive_key("another"),
        "not a key",
        "",
        "YWJj",  # base64 of 3 bytes
        base64.urlsafe_b64encode(b"x" * 31).decode(),
        base64.urlsafe_b64encode(b"x" * 33).decode(),
        base64.urlsafe_b64encode(b"x" * 32).decode().rstrip("="),
        "é" * 44,
    ],
)
def test_it_judges_a_key_as_fernet_does(key):
    # Checked without importing cryptography; Fernet is the reference.
    assert is_valid_key(key) is _fernet_accepts(key)
