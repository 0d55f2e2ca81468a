"""How far a process's resident memory rises while something runs: what a worker pays for one request."""

from __future__ import annotations

import resource
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")
_STATUS = Path("/proc/self/status")


def _status_kb(field: str) -> int:
    for line in _STATUS.read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise LookupError(field)


def peak_growth_mb(action: Callable[[], T]) -> tuple[T, float]:
    """Run `action`; return its result and how many MB the resident memory peaked above where it started.

    On Linux the peak is reset first (/proc/self/clear_refs), so it is this action's own. Elsewhere the
    process's lifetime peak is compared, which can only under-report.
    """
    try:
        Path("/proc/self/clear_refs").write_text("5")  # 5: reset the peak (VmHWM) to the current size
        before, peak = _status_kb("VmRSS"), lambda: _status_kb("VmHWM")
    except OSError:
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kB on Linux
        peak = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # noqa: E731
    result = action()
    return result, (peak() - before) / 1024
