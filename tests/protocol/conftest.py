"""Fixtures for protocol tests."""

from __future__ import annotations

import pytest
from protocol_helpers import bundled_text


@pytest.fixture
def flex_text() -> str:
    return bundled_text()
