"""The real-WordPress fixtures, shared by every module here (defined in test_real_wordpress.py),
and the lock that lets one module at a time use that WordPress."""

from __future__ import annotations

import fcntl
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration_wp.test_real_wordpress import outbound, real_wp, real_wp_settings

__all__ = ["one_module_at_a_time", "outbound", "real_wp", "real_wp_settings"]

LOCK_PATH = Path(tempfile.gettempdir()) / "inkflow-real-wordpress.lock"
LOCK_WAIT_S = 600.0


@pytest.fixture(scope="module", autouse=True)
def one_module_at_a_time() -> Iterator[None]:
    """There is one real WordPress on the machine, and the modules here change its posts, options,
    plugins and cron (a request of one test can run another's cron). Test workers (`pytest -n`)
    and concurrent runs take this lock, so one module uses it at a time."""
    with LOCK_PATH.open("a") as handle:
        deadline = time.monotonic() + LOCK_WAIT_S
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    pytest.fail(f"the real WordPress stayed in use for {LOCK_WAIT_S:.0f} s ({LOCK_PATH} is locked)")
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
