"""Column types shared by the models: enums stored as checked strings, UTC timestamps, scores."""

from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from hygiene.enums import CRITERIA

MAX_SCORE_TENTHS = 1000  # no criterion can be worth more than 100 points


def enum_type(enum_cls: type[enum.StrEnum], name: str) -> sa.Enum:
    """A portable enum: VARCHAR plus a named CHECK constraint, the same on SQLite and PostgreSQL."""
    return sa.Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        validate_strings=True,
        length=24,
        values_callable=lambda members: [m.value for m in members],
    )


class UTCDateTime(sa.TypeDecorator[dt.datetime]):
    """Timestamps are stored in UTC and always come back timezone-aware (SQLite forgets the zone)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: sa.Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: pass an aware UTC datetime")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: sa.Dialect) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


BEIJING_TIME = dt.timezone(dt.timedelta(hours=8), "北京时间")  # the county's clock: dates people read


def beijing_today() -> dt.date:
    return utcnow().astimezone(BEIJING_TIME).date()


def created_at_column() -> Mapped[dt.datetime]:
    return mapped_column(UTCDateTime, default=utcnow, nullable=False)


def county_id_column(*, index: bool = False) -> Mapped[int]:
    """The county of a row that also reaches it through a parent (issue 20): set from the parent
    when the row is written, equal to the parent's (``hygiene.services.setup.counties.county_mismatches``),
    and the leading column of the table's unique keys, ready to shard by county. ``index`` for a
    table with no other index led by it."""
    return mapped_column(sa.ForeignKey("counties.id", ondelete="RESTRICT"), index=index)


class ScoresMixin:
    """The ten criteria as integer tenths of a point (RULES.md §2: exact, never floats)."""

    c01: Mapped[int] = mapped_column(sa.SmallInteger)
    c02: Mapped[int] = mapped_column(sa.SmallInteger)
    c03: Mapped[int] = mapped_column(sa.SmallInteger)
    c04: Mapped[int] = mapped_column(sa.SmallInteger)
    c05: Mapped[int] = mapped_column(sa.SmallInteger)
    c06: Mapped[int] = mapped_column(sa.SmallInteger)
    c07: Mapped[int] = mapped_column(sa.SmallInteger)
    c08: Mapped[int] = mapped_column(sa.SmallInteger)
    c09: Mapped[int] = mapped_column(sa.SmallInteger)
    c10: Mapped[int] = mapped_column(sa.SmallInteger)

    def scores(self) -> dict[str, int]:
        return {c: getattr(self, c) for c in CRITERIA}

    def total_tenths(self) -> int:
        return sum(self.scores().values())


def score_checks() -> list[sa.CheckConstraint]:
    return [sa.CheckConstraint(f"{c} >= 0 AND {c} <= {MAX_SCORE_TENTHS}", name=f"{c}_range") for c in CRITERIA]


DEFAULT_RANKING_WEIGHTS = "0.4,0.3,0.3"
DEFAULT_BONUS_CUTS = "100,50"


class RatingSettings:
    """A county's configurable rating numbers (RULES.md, *configurable*), defaults as there.

    The county holds the settings in force now; a period copies them when it opens and keeps them
    (RULES.md §2), so changing a setting affects periods opened later, never an open or past one.
    """

    cleanest_floor_percent: Mapped[int] = mapped_column(default=10)
    clean_floor_percent: Mapped[int] = mapped_column(default=20)
    gap_tenths: Mapped[int] = mapped_column(default=100)
    min_peers: Mapped[int] = mapped_column(default=2)
    posting_days: Mapped[int] = mapped_column(default=7)
    plaque_wait_periods: Mapped[int] = mapped_column(default=1)
    red_black_list: Mapped[bool] = mapped_column(default=True)
    # Points of each of the village assessment's four areas (RULES.md §9), in tenths.
    assessment_area_max_tenths: Mapped[int] = mapped_column(default=250, server_default="250")
    # The township ranking's weights (assessment, agreement, coverage: RULES.md §9, summing to 1) and
    # the bonus cut a red and a yellow warning carry (percent), as typed in the county's settings
    # (hygiene.services.setup.counties: ranking_weights_of, bonus_cuts_of read them).
    ranking_weights: Mapped[str] = mapped_column(
        sa.String(40), default=DEFAULT_RANKING_WEIGHTS, server_default=DEFAULT_RANKING_WEIGHTS
    )
    warning_bonus_cut_percent: Mapped[str] = mapped_column(
        sa.String(20), default=DEFAULT_BONUS_CUTS, server_default=DEFAULT_BONUS_CUTS
    )
    # Sign-off levels (RULES.md §5): the township's approval and up to two more before publication.
    sign_off_levels: Mapped[int] = mapped_column(default=1, server_default="1")
    # Whether the households re-scored on unannounced visits (暗访) count in the ranking's agreement.
    unannounced_in_agreement: Mapped[bool] = mapped_column(default=True, server_default=sa.true())


RATING_SETTINGS: tuple[str, ...] = (
    "cleanest_floor_percent",
    "clean_floor_percent",
    "gap_tenths",
    "min_peers",
    "posting_days",
    "plaque_wait_periods",
    "red_black_list",
    "assessment_area_max_tenths",
    "ranking_weights",
    "warning_bonus_cut_percent",
    "sign_off_levels",
    "unannounced_in_agreement",
)


def rating_settings_checks() -> list[sa.CheckConstraint]:
    return [
        sa.CheckConstraint("cleanest_floor_percent BETWEEN 0 AND 100", name="cleanest_floor_percent_range"),
        sa.CheckConstraint("clean_floor_percent BETWEEN 0 AND 100", name="clean_floor_percent_range"),
        sa.CheckConstraint("gap_tenths > 0", name="gap_positive"),
        sa.CheckConstraint("min_peers >= 0", name="min_peers_nonnegative"),
        sa.CheckConstraint("posting_days >= 1", name="posting_days_positive"),
        sa.CheckConstraint("plaque_wait_periods >= 0", name="plaque_wait_nonnegative"),
        sa.CheckConstraint("assessment_area_max_tenths BETWEEN 10 AND 1000", name="assessment_area_max_range"),
        sa.CheckConstraint("length(ranking_weights) >= 5", name="ranking_weights_given"),
        sa.CheckConstraint("length(warning_bonus_cut_percent) >= 3", name="bonus_cuts_given"),
        sa.CheckConstraint("sign_off_levels BETWEEN 1 AND 3", name="sign_off_levels_range"),
    ]


def copy_rating_settings(source: RatingSettings, target: RatingSettings) -> None:
    for name in RATING_SETTINGS:
        setattr(target, name, getattr(source, name))


# The level of supervision that inspected (RULES.md §9, ``hygiene.enums.Level``), in a VARCHAR with a CHECK.
LEVEL_KNOWN = "level IN ('city', 'county', 'township')"


def level_column() -> Mapped[str]:
    """Which level of supervision did it: the county's unless said."""
    return mapped_column(sa.String(8), default="county", server_default="county")
