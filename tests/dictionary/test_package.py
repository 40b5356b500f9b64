"""The dictionary package stands alone: it never imports the service."""

from __future__ import annotations

import subprocess
import sys


def test_importing_the_dictionary_loads_nothing_from_app() -> None:
    probe = (
        "import sys, dictionary, dictionary.lint, dictionary.loader;"
        "print(sorted(m for m in sys.modules if m == 'app' or m.startswith('app.')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "[]"
