"""The township pages' forms: quotas, the village assessment, the workflow moves, answering an
objection and revoking a plaque."""

from __future__ import annotations

from wtforms import HiddenField, StringField, SubmitField, TextAreaField
from wtforms.validators import AnyOf, DataRequired, Length, Optional

from hygiene.services.rating.quotas import ASSESSMENT_AREAS
from web.forms import BaseForm, VersionField, WholeNumberField
from web.village.forms import ScoreField


class QuotaForm(BaseForm):
    cleanest_quota = WholeNumberField("最清洁户名额", 0, 9999, required="请填写名额")
    clean_quota = WholeNumberField("清洁户名额", 0, 9999, required="请填写名额")
    version = VersionField()
    submit = SubmitField("保存名额")


class AssessmentForm(BaseForm):
    version = VersionField()
    notes = TextAreaField("考核说明", validators=[Optional(), Length(max=500)])
    submit = SubmitField("保存考核分")


def assessment_form_class(area_max_tenths: int) -> type[AssessmentForm]:
    """The assessment form for a period: four areas, each bounded by the points per area it keeps."""

    class CountyAssessmentForm(AssessmentForm):
        pass

    for area in ASSESSMENT_AREAS:
        setattr(
            CountyAssessmentForm, area, ScoreField(f"{area.label}（0–{area_max_tenths / 10:g}分）", area_max_tenths)
        )
    return CountyAssessmentForm


class MoveForm(BaseForm):
    """One workflow move (approve, return, unapprove, publish) from the version the page showed."""

    version = VersionField()
    reason = StringField("原因", validators=[Optional(), Length(max=500)])
    confirmed = HiddenField()  # "1" once the confirmation page (templates/confirm.html) was seen
    submit = SubmitField("确定")


class ReopenForm(BaseForm):
    """The county administrator sends a published or final village period back (更正)."""

    version = VersionField()
    reason = StringField("更正原因", validators=[DataRequired(message="请填写更正原因"), Length(max=500)])
    confirmed = HiddenField()
    submit = SubmitField("退回更正")


class RevokeForm(BaseForm):
    """Revoke a plaque outside the cycle (a failed spot check), from the version the page showed."""

    version = VersionField()
    reason = StringField("摘牌原因", validators=[DataRequired(message="请填写摘牌原因"), Length(max=500)])
    confirmed = HiddenField()
    submit = SubmitField("摘牌")


class ReinstateForm(BaseForm):
    """Reinstate a plaque revoked outside the cycle by mistake, from the version the page showed."""

    version = VersionField()
    reason = StringField("恢复原因", validators=[DataRequired(message="请填写恢复原因"), Length(max=500)])
    submit = SubmitField("恢复牌匾")


class ObjectionAnswerForm(BaseForm):
    """Uphold (采纳) or dismiss (不予采纳) one objection with a public reply, from the version the
    page showed; the pressed button names the decision. The reply's length and characters are
    checked by the service."""

    version = VersionField()
    reply = TextAreaField("答复（公开，不含提出人信息）")
    decision = HiddenField(validators=[AnyOf(("uphold", "dismiss"), message="请选择采纳或不予采纳")])
    back = HiddenField(default="list")
