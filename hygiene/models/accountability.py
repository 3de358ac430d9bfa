"""The accountability ladder (RULES.md §9): the cadres who answer for each village and township,
and each rung proposed by the system and decided by the county; unannounced visits (暗访)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hygiene.db import Base
from hygiene.enums import AccountabilityRung, CadrePost, CaseState
from hygiene.models._types import (
    LEVEL_KNOWN,
    ScoresMixin,
    UTCDateTime,
    county_id_column,
    enum_type,
    level_column,
    score_checks,
    utcnow,
)
from hygiene.models.units import Household, Township, Village


class Cadre(Base):
    """A cadre answering for a village (包保) or a township (分管), kept by the county."""

    __tablename__ = "cadres"
    __table_args__ = (sa.CheckConstraint("length(name) >= 1", name="name_not_empty"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    county_id: Mapped[int] = county_id_column(index=True)
    township_id: Mapped[int] = mapped_column(sa.ForeignKey("townships.id", ondelete="RESTRICT"))
    village_id: Mapped[int | None] = mapped_column(sa.ForeignKey("villages.id", ondelete="RESTRICT"))
    post: Mapped[CadrePost] = mapped_column(enum_type(CadrePost, "cadre_post"))
    name: Mapped[str] = mapped_column(sa.String(40))
    title: Mapped[str | None] = mapped_column(sa.String(60))  # e.g. 镇党委副书记
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(default=1)

    township: Mapped[Township] = relationship()
    village: Mapped[Village | None] = relationship()

    __mapper_args__ = {"version_id_col": version}


class AccountabilityCase(Base):
    """One rung of the ladder for one unit: proposed when a rectification notice of the unit went
    unanswered past its deadline, decided (or dismissed) by the county."""

    __tablename__ = "accountability_cases"
    __table_args__ = (
        sa.UniqueConstraint("county_id", "notice_id"),  # one proposal per failed notice
        sa.CheckConstraint("state = 'proposed' OR decided_at IS NOT NULL", name="decided_has_time"),
        sa.CheckConstraint("state != 'decided' OR cadre_id IS NOT NULL", name="decided_names_cadre"),
        sa.CheckConstraint("failures >= 1", name="failures_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    county_id: Mapped[int] = county_id_column()
    township_id: Mapped[int] = mapped_column(sa.ForeignKey("townships.id", ondelete="RESTRICT"), index=True)
    village_id: Mapped[int | None] = mapped_column(sa.ForeignKey("villages.id", ondelete="RESTRICT"))
    notice_id: Mapped[int] = mapped_column(sa.ForeignKey("notices.id", ondelete="RESTRICT"))
    # The unit's failures within the window, this one included: the ladder's rung is the failures'.
    failures: Mapped[int]
    ladder_rung: Mapped[AccountabilityRung] = mapped_column(enum_type(AccountabilityRung, "ladder_rung"))
    # What the system proposes: the ladder's rung, never past 约谈 (the county decides beyond).
    proposed_rung: Mapped[AccountabilityRung] = mapped_column(enum_type(AccountabilityRung, "proposed_rung"))
    rung: Mapped[AccountabilityRung | None] = mapped_column(enum_type(AccountabilityRung, "decided_rung"))
    state: Mapped[CaseState] = mapped_column(enum_type(CaseState, "case_state"), default=CaseState.PROPOSED)
    cadre_id: Mapped[int | None] = mapped_column(sa.ForeignKey("cadres.id", ondelete="RESTRICT"))
    proposed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    decision_note: Mapped[str | None] = mapped_column(sa.Text)
    version: Mapped[int] = mapped_column(default=1)

    township: Mapped[Township] = relationship()
    village: Mapped[Village | None] = relationship()
    cadre: Mapped[Cadre | None] = relationship()

    __mapper_args__ = {"version_id_col": version}


class UnannouncedVisit(Base):
    """暗访 (RULES.md §9): a visit an inspector plans to a village on a date, by a team, that the
    township does not see until its findings are entered (``done``)."""

    __tablename__ = "unannounced_visits"
    __table_args__ = (
        sa.CheckConstraint("state = 'planned' OR done_at IS NOT NULL", name="done_has_time"),
        sa.CheckConstraint("state IN ('planned', 'done')", name="state_known"),
        sa.CheckConstraint(LEVEL_KNOWN, name="level_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    county_id: Mapped[int] = county_id_column(index=True)
    period_id: Mapped[int] = mapped_column(sa.ForeignKey("periods.id", ondelete="RESTRICT"))
    township_id: Mapped[int] = mapped_column(sa.ForeignKey("townships.id", ondelete="RESTRICT"))
    village_id: Mapped[int] = mapped_column(sa.ForeignKey("villages.id", ondelete="RESTRICT"))
    team_id: Mapped[int] = mapped_column(sa.ForeignKey("inspection_teams.id", ondelete="RESTRICT"))
    planned_on: Mapped[dt.date]
    planned_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    state: Mapped[str] = mapped_column(sa.String(12), default="planned")
    findings: Mapped[str | None] = mapped_column(sa.Text)
    done_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(default=1)
    level: Mapped[str] = level_column()  # its team's: who may see it while planned

    township: Mapped[Township] = relationship()
    village: Mapped[Village] = relationship()

    __mapper_args__ = {"version_id_col": version}


class VisitCheck(ScoresMixin, Base):
    """A household re-scored on the rubric during an unannounced visit (counted in the ranking's
    agreement when the period says so)."""

    __tablename__ = "visit_checks"
    __table_args__ = (sa.UniqueConstraint("county_id", "visit_id", "household_id"), *score_checks())

    id: Mapped[int] = mapped_column(primary_key=True)
    county_id: Mapped[int] = county_id_column()
    visit_id: Mapped[int] = mapped_column(sa.ForeignKey("unannounced_visits.id", ondelete="RESTRICT"))
    household_id: Mapped[int] = mapped_column(sa.ForeignKey("households.id", ondelete="RESTRICT"), index=True)
    notes: Mapped[str | None] = mapped_column(sa.Text)
    checked_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    inspector_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))

    household: Mapped[Household] = relationship()
