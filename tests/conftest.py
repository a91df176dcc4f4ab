"""What every test shares: the test process runs with ``app.compat``'s fixes applied, as the server
does (``serve`` applies them), so a page built here behaves as a served one. The canary tests of
tests/app/test_compat.py look at the libraries' own code, which compat keeps."""

from __future__ import annotations

import pytest

from app import compat


@pytest.fixture(scope="session", autouse=True)
def compat_applied():
    return compat.apply()
