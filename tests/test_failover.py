"""The standby takes over (issue 32): benchmarks/failover_rehearsal.py on two clusters of its own
(a primary and a synchronous hot standby on loopback), the primary killed with kill -9 and the
standby promoted under clerks saving and residents reading through one app that is never
restarted; and PostgreSQL restarted under the app (pool pre-ping)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def rehearsal() -> ModuleType:
    path = Path(__file__).parents[1] / "benchmarks" / "failover_rehearsal.py"
    spec = importlib.util.spec_from_file_location("failover_rehearsal", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_the_standby_takes_over_and_no_acknowledged_save_is_lost() -> None:
    figures = rehearsal().failover_rehearsal(clerks=2, readers=1, before=2.0, after=2.0)
    assert figures.saves_acknowledged > 0
    assert figures.saves_lost == 0
    assert figures.chain_intact
    assert 0 <= figures.failover_seconds < 10
    # Every page answered: the list, or the clear "database unreachable" page in the window; never a 500.
    assert set(figures.read_statuses) <= {"200", "503"}, figures.read_statuses
    assert figures.slowest_read_seconds < 10


def test_postgresql_restarted_under_the_app_the_next_requests_succeed() -> None:
    figures = rehearsal().restart_rehearsal()
    assert figures.before == 200
    assert figures.after == [200, 200, 200]
