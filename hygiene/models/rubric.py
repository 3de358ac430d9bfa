"""Versioned rubrics (RULES.md §2): a period keeps the version in force when it opened."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hygiene.db import Base
from hygiene.models._types import UTCDateTime, utcnow


class RubricVersion(Base):
    __tablename__ = "rubric_versions"
    __table_args__ = (
        sa.UniqueConstraint("county_id", "number"),
        sa.CheckConstraint(
            "fairly_clean_tenths >= 0 AND fairly_clean_tenths < clean_tenths AND clean_tenths < cleanest_tenths",
            name="thresholds_ordered",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    county_id: Mapped[int] = mapped_column(sa.ForeignKey("counties.id", ondelete="RESTRICT"), index=True)
    number: Mapped[int]
    cleanest_tenths: Mapped[int] = mapped_column(default=900)
    clean_tenths: Mapped[int] = mapped_column(default=800)
    fairly_clean_tenths: Mapped[int] = mapped_column(default=600)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    criteria: Mapped[list[RubricCriterion]] = relationship(
        back_populates="rubric_version", order_by="RubricCriterion.code", cascade="all, delete-orphan"
    )


class RubricCriterion(Base):
    __tablename__ = "rubric_criteria"
    __table_args__ = (
        sa.UniqueConstraint("rubric_version_id", "code"),
        sa.CheckConstraint("code IN ('c01','c02','c03','c04','c05','c06','c07','c08','c09','c10')", name="code_known"),
        sa.CheckConstraint("max_tenths > 0 AND max_tenths <= 1000", name="max_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    rubric_version_id: Mapped[int] = mapped_column(sa.ForeignKey("rubric_versions.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(sa.String(3))
    label: Mapped[str] = mapped_column(sa.String(60))
    max_tenths: Mapped[int]

    rubric_version: Mapped[RubricVersion] = relationship(back_populates="criteria")
