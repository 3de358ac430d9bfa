"""The ranking's weights and the warnings' consequences as county settings (issue 33, RULES.md §9,
INTERCHANGE.md §3 `ranking_weights`, `warning_bonus_cut_percent`): validated, kept with each period
like the other settings, honoured by the ranking."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from hygiene.enums import NoticeState
from hygiene.models import Township, User
from hygiene.services.errors import FieldErrors
from hygiene.services.setup import counties, units
from hygiene.services.supervision import notices, ranking, yearly
from tests.hygiene.factories import period as period_of
from tests.hygiene.test_ranking import assessed_points, coverage_points, half_up


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("0.5,0.25,0.25", "0.5,0.25,0.25"),
        (" 0.40 ，0.30、0.3 ", "0.4,0.3,0.3"),
        ("１,0,0", "1,0,0"),  # full-width digits are digits (NFKC)
        ("0.334,0.333,0.333", "0.334,0.333,0.333"),
    ],
)
def test_weights_are_kept_in_their_shortest_form(typed: str, stored: str) -> None:
    assert counties.parse_ranking_weights(typed) == stored
    assert sum(counties.ranking_weights_of(stored)) == 1


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("0.4,0.3,0.2", "三项权重之和须为1（现为0.9）"),
        ("0.4,0.3", "须为 3 个用逗号分隔的数"),
        ("0.4,0.3,0.3,0", "须为 3 个用逗号分隔的数"),
        ("0.4,,0.6", "须为 3 个用逗号分隔的数"),
        ("1.5,-0.5,0", "须为0–1之间"),
        ("4e-1,0.3,0.3", "须为0–1之间"),
        ("٠.٤,0.3,0.3", "须为0–1之间"),  # Arabic-Indic digits are not digits here (RELIABILITY.md trap 3)
        ("0.3333,0.3333,0.3334", "最多三位小数"),
        ("NaN,0.5,0.5", "须为0–1之间"),
    ],
)
def test_bad_weights_are_refused_naming_the_setting_and_nothing_changes(db: Session, typed: str, reason: str) -> None:
    county = units.get_county(db, "520999")
    with pytest.raises(FieldErrors) as refused:
        counties.change_settings(db, None, county, {"ranking_weights": typed, "posting_days": "9"})
    message = refused.value.errors["ranking_weights"]
    assert message.startswith("乡镇排名权重") and repr(typed) in message and reason in message
    assert county.ranking_weights == "0.4,0.3,0.3" and county.posting_days == 7


@pytest.mark.parametrize("typed", ["100", "100,50,0", "101,50", "100,-5", "百,50"])
def test_bad_bonus_cuts_are_refused(db: Session, typed: str) -> None:
    county = units.get_county(db, "520999")
    with pytest.raises(FieldErrors) as refused:
        counties.change_settings(db, None, county, {"warning_bonus_cut_percent": typed})
    assert refused.value.errors["warning_bonus_cut_percent"].startswith("红色、黄色预警扣减当期奖补的比例")
    assert county.warning_bonus_cut_percent == "100,50"


def test_a_period_keeps_the_weights_and_cuts_it_opened_with(db: Session) -> None:
    county = units.get_county(db, "520999")
    changed = counties.change_settings(
        db, None, county, {"ranking_weights": "0.6,0.2,0.2", "warning_bonus_cut_percent": "80，30"}
    )
    assert changed == {"ranking_weights": "0.4,0.3,0.3 → 0.6,0.2,0.2", "warning_bonus_cut_percent": "100,50 → 80,30"}
    history = counties.settings_history(db, county)[0].lines
    assert (
        "乡镇排名权重：村考核、抽查一致率、覆盖（各0–1，合计1，如 0.4,0.3,0.3）：0.4,0.3,0.3 → 0.6,0.2,0.2" in history
    )
    q4 = period_of(db, "2026Q4")
    assert (q4.ranking_weights, q4.warning_bonus_cut_percent) == ("0.4,0.3,0.3", "100,50")
    opened = counties.open_period(db, None, county, "2027Q1").period
    assert (opened.ranking_weights, opened.warning_bonus_cut_percent) == ("0.6,0.2,0.2", "80,30")
    assert ranking.weights_of(opened) == ranking.Weights(Decimal("0.6"), Decimal("0.2"), Decimal("0.2"))
    assert ranking.ranking(db, county, q4).weights == ranking.Weights()


def test_the_ranking_honours_the_periods_weights(db: Session) -> None:
    """With the weights 0.7 / 0.1 / 0.2 kept by the period, each score is that sum (no spot check in
    the demo: assessment and coverage scaled up by 1 / 0.9); with 0 / 1 / 0 and no agreement data,
    nothing is ranked."""
    county = units.get_county(db, "520999")
    q3 = period_of(db, "2026Q3")
    q3.ranking_weights = "0.7,0.1,0.2"
    db.flush()
    result = ranking.ranking(db, county, q3)
    assert result.weights == ranking.Weights(Decimal("0.7"), Decimal("0.1"), Decimal("0.2"))
    for line in result.townships:
        points = assessed_points(db, "2026Q3", line.code)
        mean = sum(points, Fraction(0)) / len(points)
        cover = coverage_points(db, line.code, 2026)
        assert line.score == half_up((Fraction(7, 10) * mean + Fraction(2, 10) * cover) / Fraction(9, 10))
    q3.ranking_weights = "0,1,0"
    db.flush()
    assert all(t.rank is None and t.warning == "" for t in ranking.ranking(db, county, q3).townships)


def test_each_warning_carries_the_periods_consequence(db: Session) -> None:
    county = units.get_county(db, "520999")
    q3 = period_of(db, "2026Q3")
    lines = ranking.ranking(db, county, q3).townships
    assert [(t.warning, t.bonus_cut_percent, t.consequence) for t in lines] == [
        ("", None, ""),
        ("yellow", 50, "扣减本期奖补 50%"),
        ("red", 100, "扣减本期奖补 100%"),
    ]
    q3.warning_bonus_cut_percent = "30,0"
    db.flush()
    lines = ranking.ranking(db, county, q3).townships
    assert [t.consequence for t in lines] == ["", "不扣减奖补", "扣减本期奖补 30%"]
    assert ranking.csv_rows(ranking.ranking(db, county, q3))[0].__len__() == len(ranking.CSV_HEADER) == 8


def inspector(db: Session) -> User:
    return db.scalars(sa.select(User).where(User.username == "inspector")).one()


def test_the_yearly_roll_up_per_township(db: Session) -> None:
    """2026: the two demo periods' scores and warnings with their consequences, and the notices of
    the year (one escalated by the clock, one rectified, one still open) per township."""
    county = units.get_county(db, "520999")
    q3, q4 = period_of(db, "2026Q3"), period_of(db, "2026Q4")
    q4.warning_bonus_cut_percent = "80,40"
    songlin = db.scalars(sa.select(Township).where(Township.code == "52099901")).one()
    issued = dt.datetime(2026, 10, 1, tzinfo=dt.UTC)
    late, done, waiting = (
        notices.issue(
            db,
            inspector(db),
            county,
            period=q3,
            township=songlin,
            responsible_person="王乡长",
            problem=f"问题{n}",
            now=issued,
        )
        for n in range(3)
    )
    done.state = NoticeState.RECTIFIED
    db.flush()
    notices.escalate_overdue(db, now=issued + dt.timedelta(hours=30))
    assert late.state is NoticeState.ESCALATED and waiting.state is NoticeState.ESCALATED
    waiting.state = NoticeState.OPEN  # one answered late by hand: still open in the ledger
    db.flush()
    review = yearly.yearly(db, county, 2026)
    assert review.period_codes == ("2026Q3", "2026Q4")
    assert yearly.years(db, county) == [2026]
    lines = {t.code: t for t in review.townships}
    for code, line in lines.items():
        expected = [next(t for t in ranking.ranking(db, county, p).townships if t.code == code) for p in (q3, q4)]
        assert [(p.period_code, p.score, p.rank, p.warning) for p in line.periods] == [
            (p.code, t.score, t.rank, t.warning) for p, t in zip((q3, q4), expected, strict=True)
        ]
        scores = [t.score for t in expected if t.score is not None]
        assert line.mean_score == (sum(scores, Decimal(0)) / len(scores)).quantize(Decimal("0.01"))
        assert line.red == sum(t.warning == "red" for t in expected)
        assert line.yellow == sum(t.warning == "yellow" for t in expected)
    q4_red = next(p for p in (lines[c].periods[1] for c in lines) if p.warning == "red")
    assert q4_red.consequence == "扣减本期奖补 80%"
    red_lines = [t for t in review.townships if t.red]
    assert any("2026Q3 红色预警：扣减本期奖补 100%" in t.consequences for t in red_lines)
    assert dict(lines["52099901"].notices) == {
        "issued": 3,
        "escalated": 1,
        "rectified": 1,
        "open": 1,
        "accountability": 2,
    }
    assert not lines["52099902"].notices
    rows = {row[0]: row for row in yearly.summary_rows(review)}
    assert rows["52099901"][6:] == (3, 1, 0, 1, 1, 2, "")
    assert len(yearly.HEADER) == len(rows["52099901"])
    assert len(yearly.period_rows(review)) == 2 * len(review.townships)
    assert yearly.yearly(db, county, 2027).period_codes == ()
