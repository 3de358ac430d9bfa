"""Fixtures of the engine's tests."""

from __future__ import annotations

import pytest

from scoring import parallel


@pytest.fixture
def split_any_size(monkeypatch: pytest.MonkeyPatch) -> None:
    """Take the piece-by-piece path from one household (the real threshold is 50,000)."""
    monkeypatch.setattr(parallel, "MIN_HOUSEHOLDS", 1)
