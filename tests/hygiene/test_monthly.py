"""Monthly counties (issue 33, RULES.md §1): the period length a county setting applied from the next
period opened; a county switching from quarters to months keeps its history; waiting times are
counted in the county's periods (months for a monthly county)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from hygiene.models import Period
from hygiene.services.errors import FieldErrors, ServiceError
from hygiene.services.setup import counties, periods, units
from hygiene.services.supervision import ranking


def test_a_county_switching_to_months_keeps_its_history(db: Session) -> None:
    county = units.get_county(db, "520999")
    before = [p.code for p in units.county_periods(db, county.id)]
    assert before == ["2026Q4", "2026Q3"]
    with pytest.raises(FieldErrors, match="quarter（季度）或 month（月）"):
        counties.change_settings(db, None, county, {"period_length": "weekly"})
    assert counties.change_settings(db, None, county, {"period_length": "月"}) == {"period_length": "quarter → month"}
    assert counties.next_period_code("2026Q4", county.period_length) == "2027-01"
    with pytest.raises(ServiceError, match="按月评比，期别应为如 2027-01 的形式（2027Q1 不是）"):
        counties.open_period(db, None, county, "2027Q1")
    with pytest.raises(ServiceError, match="与已开启的 2026Q4 时间重叠"):
        counties.open_period(db, None, county, "2026-12")
    opened = counties.open_period(db, None, county, "2027-01")
    assert opened.created and opened.village_periods == 12
    january = opened.period
    assert (january.starts_on, january.ends_on) == (dt.date(2027, 1, 1), dt.date(2027, 1, 31))
    assert counties.open_period(db, None, county, "2027-02").period.ends_on == dt.date(2027, 2, 28)
    codes = [p.code for p in units.county_periods(db, county.id)]
    assert codes == ["2027-02", "2027-01", "2026Q4", "2026Q3"]  # the quarters kept, newest first
    assert db.scalar(sa.select(Period.code).where(Period.code == "2026Q3", Period.county_id == county.id))
    # The ranking of the old quarters is as before; a month is ranked like any period.
    assert ranking.ranking(db, county, january).period.code == "2027-01"
    assert [r.period.code for r in ranking.history(db, county)] == codes
    # Back to quarters between years: the next quarter after the last month.
    counties.change_settings(db, None, county, {"period_length": "quarter"})
    assert counties.next_period_code("2027-02", county.period_length) == "2027Q2"
    with pytest.raises(ServiceError, match="与已开启的 2027-0"):
        counties.open_period(db, None, county, "2027Q1")


def test_a_monthly_countys_plaque_waiting_time_is_in_months(db: Session) -> None:
    """The engine's waiting time with month codes: revoked in 2027-01, with one period's wait an award
    in 2027-02 is commended only, in 2027-03 plaqued again; across the switch from 2026Q4, 2027-01 is
    the next period."""
    from hygiene.services.rating import rating

    assert rating.first_period_after("2026Q4", "month") == "2027-01"
    import scoring

    plaques = pd.DataFrame(
        [{"household_code": "H1", "serial": "S1", "level": "clean", "state": "revoked",
          "issued_period": "2026Q3", "revoked_period": "2027-01"}]
    )  # fmt: skip
    results = pd.DataFrame([{"household_code": "H1", "grade": "clean", "award": "clean"}])
    waiting = scoring.plaque_changes(plaques, results, "2027-02", county_code="520999", wait_periods=1)
    after = scoring.plaque_changes(plaques, results, "2027-03", county_code="520999", wait_periods=1)
    assert list(waiting["action"]) == ["commend"] and list(after["action"]) == ["issue"]
    crossing = plaques.assign(revoked_period="2026Q4")
    assert list(
        scoring.plaque_changes(crossing, results, "2027-01", county_code="520999", wait_periods=1)["action"]
    ) == ["commend"]
    assert periods.period_dates("2027-12") == (dt.date(2027, 12, 1), dt.date(2027, 12, 31))
