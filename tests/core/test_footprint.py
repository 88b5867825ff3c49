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
import fixtrail.wsgi
print(json.dumps(sorted(sys.modules)))
"""

# Loaded on first use: outbound calls (httpx, ~10 MB) and sealed secrets
# (cryptography, ~7 MB).
ON_FIRST_USE = ("httpx", "cryptography")


def test_a_web_process_loads_no_outbound_or_sealing_library(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("FIXTRAIL_")}
    env |= {
        "FIXTRAIL_DATA_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "fixtrail.settings",
    }
    done = subprocess.run(
        [sys.executable, "-c", _LOADED],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    loaded = set(json.loads(done.stdout.splitlines()[-1]))

    assert "fixtrail.ingest.endpoints" in loaded
    assert [name for name in ON_FIRST_USE if name in loaded] == []
