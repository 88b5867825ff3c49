"""The web API's token clients, for the release tests."""

from __future__ import annotations

from tests.api.conftest import alice_api, bob_api, charlie_api, vera_api  # noqa: F401
