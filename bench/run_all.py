"""`make bench`: run every benchmark in bench/ in turn and print its figures.

Benchmarks print; they never fail on timing. A benchmark that crashes is reported and the
run goes on, and the exit status says whether any crashed.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

ORDER = [
    "validate.py",
    "pull.py",
    "prefill.py",
    "prefill_share.py",
    "deliveries.py",
    "events.py",
    "audit.py",
    "audit_verify.py",
]


def main() -> int:
    here = Path(__file__).resolve().parent
    scripts = [here / name for name in ORDER if (here / name).exists()]
    scripts += sorted(
        p
        for p in here.glob("*.py")
        if p.name not in ORDER and p.name not in {"run_all.py"} and not p.name.startswith("_")
    )
    failed = []
    for script in scripts:
        print(f"\n=== {script.name} ===", flush=True)
        started = time.perf_counter()
        result = subprocess.run([sys.executable, str(script)], cwd=here.parent, check=False)
        print(
            f"--- {script.name}: exit {result.returncode} in {time.perf_counter() - started:.1f}s"
        )
        if result.returncode != 0:
            failed.append(script.name)
    if failed:
        print(f"\ncrashed: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
