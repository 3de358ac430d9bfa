"""The forms of the notice pages (督办 / 问责通知单, RULES.md §9), shared by the inspector's, the
village's and the township's modules, and what those pages show of each notice: its ledger row,
its audit history and the accountability notice it escalated to."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar

from flask import flash
from sqlalchemy.orm import Session
from wtforms import Field, HiddenField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, DataRequired, Length
from wtforms.widgets import TextInput

from hygiene.models import AuditEntry, County, Notice, Period, User, Village
from hygiene.models._types import BEIJING_TIME
from hygiene.services import audit
from hygiene.services.supervision import notices
from web.forms import BaseForm, VersionField
from web.handlers import save

DEADLINE_FORMATS = ("%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S")
DEADLINE_INPUT = "%Y-%m-%dT%H:%M"  # what <input type="datetime-local"> sends and shows


class BeijingDateTimeField(Field):
    """A moment typed as Beijing time (the browser's date-and-time picker, or 2026-12-02 16:00),
    held as an aware UTC time; empty is None. The typed text is kept when refused."""

    widget = TextInput()

    def __init__(self, label: str, **kwargs: object) -> None:
        super().__init__(label, render_kw={"type": "datetime-local"}, **kwargs)
        self.raw = ""

    def _value(self) -> str:
        if self.raw:
            return self.raw
        return self.data.astimezone(BEIJING_TIME).strftime(DEADLINE_INPUT) if self.data else ""

    def process_formdata(self, valuelist: list[str]) -> None:
        if not valuelist:
            return
        self.raw = valuelist[0].strip()
        self.data = None
        if not self.raw:
            return
        for fmt in DEADLINE_FORMATS:
            try:
                local = dt.datetime.strptime(self.raw, fmt).replace(tzinfo=BEIJING_TIME)
            except ValueError:
                continue
            self.data = local.astimezone(dt.UTC)
            return
        raise ValueError(f"“{self.raw}”不是有效的时间，请按 2026-12-02 16:00 这样的北京时间填写")


class IssueForm(BaseForm):
    """A rectification notice by hand: to a township, or to one of its villages."""

    period = SelectField("季度", validators=[DataRequired("请选择季度")], invalid_choice_message="请选择本县的季度")
    township = SelectField("乡镇", validators=[DataRequired("请选择乡镇")], invalid_choice_message="请选择本县的乡镇")
    village = SelectField("村（不选则发往乡镇本级）", invalid_choice_message="请选择本县的村")
    responsible_person = StringField(
        "责任人",
        validators=[DataRequired("请填写责任人")],
        render_kw={"maxlength": notices.PERSON_MAX, "autocomplete": "off"},
    )
    problem = TextAreaField(
        "问题描述", validators=[DataRequired("请填写问题描述")], render_kw={"rows": 4, "maxlength": notices.PROBLEM_MAX}
    )
    deadline = BeijingDateTimeField("整改时限（北京时间，可不填）")
    submit = SubmitField("下发督办通知单")

    # The service's field names that differ from the form's.
    SERVICE_FIELDS: ClassVar[dict[str, str]] = {"addressee": "village"}

    def set_choices(self, periods: Iterable[Period], county: County, villages: Iterable[Village]) -> None:
        self.period.choices = [SelectChoice(p.code, p.code) for p in periods]
        townships = [SelectChoice(t.code, t.name) for t in county.townships]
        self.township.choices = [SelectChoice("", "请选择乡镇"), *townships]
        self.village.choices = [SelectChoice("", "乡镇本级"), *village_choices(villages)]


def village_choices(villages: Iterable[Village]) -> list[SelectChoice]:
    """The county's villages for a select, grouped by township."""
    return [SelectChoice(v.code, v.name, optgroup=v.township.name) for v in villages]


class ReportForm(BaseForm):
    """The addressee reports the problem rectified, from the version the page showed."""

    version = VersionField()
    note = TextAreaField("整改情况", validators=[DataRequired("请填写整改情况"), Length(max=notices.NOTE_MAX)])
    submit = SubmitField("上报整改情况")


class DecideForm(BaseForm):
    """The inspector accepts a reported rectification (验收通过) or rejects it as not done (虚假整改),
    with a note either way; the pressed button names the decision."""

    version = VersionField()
    note = TextAreaField(
        "验收意见或退回理由", validators=[DataRequired("请填写验收意见或退回理由"), Length(max=notices.NOTE_MAX)]
    )
    decision = HiddenField(validators=[AnyOf(("accept", "reject"), message="请选择验收通过或退回")])


class BlackListForm(BaseForm):
    """One notice per black-listed household of a village's final period (RULES.md §6)."""

    period = SelectField("季度", validators=[DataRequired("请选择季度")], invalid_choice_message="请选择本县的季度")
    village = SelectField("村", validators=[DataRequired("请选择村")], invalid_choice_message="请选择本县的村")
    submit = SubmitField("为黑榜户下发督办通知单")


def form_errors(form: BaseForm) -> str:
    """A refused form's errors in one line, each after its field's label."""
    return "；".join(f"{form[name].label.text}：{e}" for name, errors in form.errors.items() for e in errors)


def report_from_form(actor: User, notice: Notice) -> None:
    """The addressee's report (village clerk or township reviewer) from the posted ReportForm: saved
    and committed, or the reason flashed; a stale version raises Conflict (the 409 page)."""
    form = ReportForm()
    if not form.validate_on_submit():
        flash(form_errors(form), "error")
        return
    save(
        lambda session: notices.report_rectified(session, actor, notice, form.version.data, form.note.data or ""),
        done=f"已上报{notices.notice_title(notice)}的整改情况，等待督查组验收",
    )


@dataclass(frozen=True)
class NoticeCard:
    """One notice as the pages show it (web/templates/_notice.html)."""

    row: notices.LedgerRow
    history: list[AuditEntry]
    escalated_to: Notice | None

    @property
    def notice(self) -> Notice:
        return self.row.notice


def notice_card(session: Session, notice: Notice, now: dt.datetime) -> NoticeCard:
    return NoticeCard(
        row=notices.ledger_row(session, notice, now=now),
        history=audit.history(session, "notice", notice.id, county_id=notice.county_id),
        escalated_to=notices.escalated_to(session, notice),
    )
