"""What every process loads: the settings and the apps, and not the
libraries only some work needs (each costs every process megabytes)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

_LOADED = """
import json, sys
import django
django.setup()
import {module}
print(json.dumps(sorted(sys.modules)))
"""

# Loaded on first use: outbound calls (httpx, ~10 MB) and sealed secrets
# (cryptography, ~7 MB).
ON_FIRST_USE = ("httpx", "cryptography")


def _loaded_by(module: str, data_dir) -> set[str]:
    """Return the modules a fresh process on SQLite holds once it has set
    Django up and imported ``module``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FIXTRAIL_")}
    env |= {
        "FIXTRAIL_DATA_DIR": str(data_dir),
        "DJANGO_SETTINGS_MODULE": "fixtrail.settings",
    }
    done = subprocess.run(
        [sys.executable, "-c", _LOADED.format(module=module)],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return set(json.loads(done.stdout.splitlines()[-1]))


def test_a_web_process_loads_no_outbound_or_sealing_library(tmp_path):
    loaded = _loaded_by("fixtrail.wsgi", tmp_path)

    assert "fixtrail.ingest.endpoints" in loaded
    assert [name for name in ON_FIRST_USE if name in loaded] == []


def test_a_worker_on_sqlite_loads_no_postgresql_driver(tmp_path):
    # psycopg and the libraries it maps cost the worker about 5 MB of PSS.
    loaded = _loaded_by("fixtrail.digest.worker", tmp_path)

    assert "fixtrail.digest.batches" in loaded
    assert [name for name in ("psycopg", *ON_FIRST_USE) if name in loaded] == []
