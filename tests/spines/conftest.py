"""Fixtures for the spine tests."""

from __future__ import annotations

import pytest
from spine_trades import make_trades


@pytest.fixture
def trades_factory():
    return make_trades
