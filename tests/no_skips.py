"""In CI no test may skip: ``RV_NO_SKIPS=1`` (set by ``.ci/run``) turns a skip into a failure.

A test that skips where its tool or its reports are missing (Chromium, pdftotext,
the rendered reports of ``make report``) passes on a laptop without them; in CI,
which installs the tools and builds the reports first, such a skip means a test
that checked nothing, so the run fails and names the reason the test gave.
Loaded by ``tests/conftest.py``; ``tests/test_no_skips.py`` runs it on a test
that skips.
"""

from __future__ import annotations

import os

import pytest

VARIABLE = "RV_NO_SKIPS"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    # An expected failure is reported as skipped too; it is not a skip.
    if os.environ.get(VARIABLE) != "1" or not report.skipped or hasattr(report, "wasxfail"):
        return
    longrepr = report.longrepr
    reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
    report.outcome = "failed"
    report.longrepr = f"{VARIABLE}=1 (CI): no test may skip, and this one did: {reason}"
