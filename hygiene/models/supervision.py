"""督查问责 (RULES.md §9) and 公示 objections (§6): inspection teams and their assignments, spot
checks, rectification and accountability notices, and residents' objections."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hygiene.db import Base
from hygiene.enums import NoticeKind, NoticeSource, NoticeState, ObjectionState
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
from hygiene.models.periods import VillagePeriod
from hygiene.models.units import Household

# A team belongs to the unit that supervises (RULES.md §9, three levels): a county's teams, a city's
# (no county: they inspect every county of the city) or a township's own (of its county too).
TEAM_SCOPE = (
    "(level = 'county' AND county_id IS NOT NULL AND city_id IS NULL AND township_id IS NULL)"
    " OR (level = 'city' AND city_id IS NOT NULL AND county_id IS NULL AND township_id IS NULL)"
    " OR (level = 'township' AND township_id IS NOT NULL AND county_id IS NOT NULL AND city_id IS NULL)"
)


class InspectionTeam(Base):
    __tablename__ = "inspection_teams"
    __table_args__ = (
        sa.UniqueConstraint("county_id", "name"),
        sa.UniqueConstraint("city_id", "name"),
        sa.CheckConstraint(LEVEL_KNOWN, name="level_known"),
        sa.CheckConstraint(TEAM_SCOPE, name="scope_matches_level"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    county_id: Mapped[int | None] = mapped_column(sa.ForeignKey("counties.id", ondelete="RESTRICT"), index=True)
    city_id: Mapped[int | None] = mapped_column(sa.ForeignKey("cities.id"), index=True)
    township_id: Mapped[int | None] = mapped_column(sa.ForeignKey("townships.id"))
    level: Mapped[str] = level_column()
    name: Mapped[str] = mapped_column(sa.String(60))
    members: Mapped[str] = mapped_column(sa.String(200))
    # The office that leads the team (e.g. 督办督查局) and the member offices (文明办、妇联 …), RULES.md §9.
    lead_office: Mapped[str | None] = mapped_column(sa.String(60))
    member_offices: Mapped[str | None] = mapped_column(sa.String(200))


class InspectionAssignment(Base):
    """A team assigned to inspect one township in one period."""

    __tablename__ = "inspection_assignments"
    __table_args__ = (
        # One team of each level holds a township in a period (RULES.md §9: city, county, township).
        sa.UniqueConstraint("county_id", "period_id", "township_id", "level"),
        sa.CheckConstraint("sample_size >= 1", name="sample_size_positive"),
        sa.CheckConstraint(LEVEL_KNOWN, name="level_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    county_id: Mapped[int] = county_id_column()
    team_id: Mapped[int] = mapped_column(sa.ForeignKey("inspection_teams.id", ondelete="RESTRICT"), index=True)
    period_id: Mapped[int] = mapped_column(sa.ForeignKey("periods.id", ondelete="RESTRICT"))
    township_id: Mapped[int] = mapped_column(sa.ForeignKey("townships.id", ondelete="RESTRICT"))
    level: Mapped[str] = level_column()  # the team's
    # The sample the team adopted (hygiene.services.supervision.sampling.draw with this seed and size redraws
    # it), by whom and when; None until adopted.
    sample_seed: Mapped[int | None]
    sample_size: Mapped[int | None]
    sample_adopted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    sample_adopted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    team: Mapped[InspectionTeam] = relationship()


class SpotCheck(ScoresMixin, Base):
    """An inspection team's re-score of one sampled household on the rubric."""

    __tablename__ = "spot_checks"
    __table_args__ = (sa.UniqueConstraint("county_id", "assignment_id", "household_id"), *score_checks())

    id: Mapped[int] = mapped_column(primary_key=True)
    county_id: Mapped[int] = county_id_column()
    assignment_id: Mapped[int] = mapped_column(sa.ForeignKey("inspection_assignments.id", ondelete="RESTRICT"))
    household_id: Mapped[int] = mapped_column(sa.ForeignKey("households.id", ondelete="RESTRICT"), index=True)
    checked_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    inspector_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    notes: Mapped[str | None] = mapped_column(sa.Text)
    # Who was there (the team's members by default), and a version for entering it again.
    members: Mapped[str | None] = mapped_column(sa.String(200))
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    household: Mapped[Household] = relationship()

    __mapper_args__ = {"version_id_col": version}


class Notice(Base):
    """A rectification notice with a deadline, or the accountability notice it escalated to."""

    __tablename__ = "notices"
    __table_args__ = (
        sa.CheckConstraint("deadline > issued_at", name="deadline_after_issue"),
        sa.CheckConstraint("kind = 'rectification' OR escalated_from_id IS NOT NULL", name="accountability_has_origin"),
        # One notice per source item (a black-listed household of a record, a spot check): issuing twice adds none.
        sa.Index("uq_notices_source_ref", "source_ref", unique=True),
        sa.CheckConstraint(LEVEL_KNOWN, name="level_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    county_id: Mapped[int] = mapped_column(sa.ForeignKey("counties.id", ondelete="RESTRICT"), index=True)
    period_id: Mapped[int] = mapped_column(sa.ForeignKey("periods.id", ondelete="RESTRICT"))
    township_id: Mapped[int] = mapped_column(sa.ForeignKey("townships.id", ondelete="RESTRICT"))
    village_id: Mapped[int | None] = mapped_column(sa.ForeignKey("villages.id", ondelete="RESTRICT"))
    spot_check_id: Mapped[int | None] = mapped_column(sa.ForeignKey("spot_checks.id", ondelete="RESTRICT"))
    escalated_from_id: Mapped[int | None] = mapped_column(sa.ForeignKey("notices.id", ondelete="RESTRICT"))
    kind: Mapped[NoticeKind] = mapped_column(enum_type(NoticeKind, "notice_kind"))
    state: Mapped[NoticeState] = mapped_column(enum_type(NoticeState, "notice_state"), default=NoticeState.OPEN)
    problem: Mapped[str] = mapped_column(sa.Text)
    issued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    deadline: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    resolution: Mapped[str | None] = mapped_column(sa.Text)
    version: Mapped[int] = mapped_column(default=1)
    # Who answers for it (named by the inspector; a black-listed household's head), where it came
    # from and the key of that source item (None for notices by hand and accountability notices).
    responsible_person: Mapped[str | None] = mapped_column(sa.String(40))
    source: Mapped[NoticeSource] = mapped_column(
        enum_type(NoticeSource, "notice_source"), default=NoticeSource.MANUAL, server_default="manual"
    )
    source_ref: Mapped[str | None] = mapped_column(sa.String(120))
    # The addressee's latest rectification report, and the inspector's latest decision on it;
    # ``rejections`` counts the reports refused as not done (虚假整改).
    report_note: Mapped[str | None] = mapped_column(sa.Text)
    reported_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    decision_note: Mapped[str | None] = mapped_column(sa.Text)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    rejections: Mapped[int] = mapped_column(default=0, server_default="0")
    # The inspector let the addressee report without a photo (issue 31: a report needs one otherwise).
    photo_waived: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # The level of supervision that issued it (its inspector's; the county's for the county's own).
    level: Mapped[str] = level_column()

    __mapper_args__ = {"version_id_col": version}


class Objection(Base):
    """A resident's objection during a posting period. ``contact`` is never shown publicly."""

    __tablename__ = "objections"
    __table_args__ = (
        sa.CheckConstraint(
            "state = 'pending' OR (reply IS NOT NULL AND resolved_at IS NOT NULL)", name="resolved_has_reply"
        ),
        sa.CheckConstraint("length(reason) >= 1", name="reason_not_empty"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    county_id: Mapped[int] = county_id_column(index=True)
    village_period_id: Mapped[int] = mapped_column(sa.ForeignKey("village_periods.id", ondelete="RESTRICT"), index=True)
    household_id: Mapped[int] = mapped_column(sa.ForeignKey("households.id", ondelete="RESTRICT"))
    reason: Mapped[str] = mapped_column(sa.Text)
    contact: Mapped[str | None] = mapped_column(sa.String(60))
    state: Mapped[ObjectionState] = mapped_column(
        enum_type(ObjectionState, "objection_state"), default=ObjectionState.PENDING
    )
    reply: Mapped[str | None] = mapped_column(sa.Text)
    filed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    resolved_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    version: Mapped[int] = mapped_column(default=1)
    # The posted record version objected to, and the filing client's address as a keyed hash
    # (hygiene.services.rating.objections.client_hash): never the address itself, never shown.
    record_number: Mapped[int | None]
    client_hash: Mapped[str | None] = mapped_column(sa.String(64))

    village_period: Mapped[VillagePeriod] = relationship()
    household: Mapped[Household] = relationship()

    __mapper_args__ = {"version_id_col": version}


class ObjectionThrottle(Base):
    """Objections filed by one client (its keyed hash) in the current window, bumped by one atomic
    upsert so that the limit holds across all server workers."""

    __tablename__ = "objection_throttles"

    key: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    filings: Mapped[int] = mapped_column(default=0)
    window_started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
