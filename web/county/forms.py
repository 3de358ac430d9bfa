from __future__ import annotations

from collections.abc import Sequence

from wtforms import HiddenField, PasswordField, SelectField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Regexp

from hygiene.enums import CRITERIA, Role
from hygiene.models import Village
from hygiene.services.setup.counties import SETTINGS
from hygiene.services.setup.rollout import MAX_PLAN_YEARS
from web.forms import BaseForm
from web.village.forms import ScoreField


class CreateUserForm(BaseForm):
    username = StringField(
        "用户名",
        validators=[
            DataRequired("请输入用户名"),
            Regexp(r"^[A-Za-z0-9_.-]{2,40}$", message="2–40位字母、数字或 _ . -"),
        ],
    )
    display_name = StringField("姓名或称呼", validators=[DataRequired("请输入姓名"), Length(max=40)])
    role = SelectField("角色", choices=[SelectChoice(r.value, r.label) for r in Role], validators=[DataRequired()])
    # The county's units by name (accounts.unit_choices), set by the view; the value is the code.
    unit_code = SelectField(
        "所属单位（县、乡镇或村）", choices=[], validate_choice=True, validators=[DataRequired("请选择单位")]
    )
    password = PasswordField(
        "初始密码", validators=[DataRequired("请输入初始密码"), Length(min=8, max=200, message="密码至少8位")]
    )
    submit = SubmitField("创建账号")


class SettingsForm(BaseForm):
    """The county's settings (hygiene.services.setup.counties.SETTINGS): one text field each, typed as the
    command takes them; the service checks and names every bad value."""

    state = HiddenField()  # what the page showed: a save over someone else's is refused
    submit = SubmitField("保存设置")


def settings_form_class() -> type[SettingsForm]:
    class CountySettingsForm(SettingsForm):
        pass

    for setting in SETTINGS:
        setattr(CountySettingsForm, setting.key, StringField(setting.label, validators=[DataRequired("请填写")]))
    return CountySettingsForm


class OpenPeriodForm(BaseForm):
    # A monthly county's page names a month instead (web.county.views.periods_page).
    code = StringField("季度（如 2027Q1）", validators=[DataRequired("请填写期别"), Length(max=7)])
    submit = SubmitField("开启季度")


class AccountActiveForm(BaseForm):
    reason = StringField("原因", validators=[DataRequired("请填写原因"), Length(max=200)])
    submit = SubmitField("确定")


class ResetPasswordForm(BaseForm):
    password = PasswordField(
        "临时密码（用户登录后须立即修改）",
        validators=[DataRequired("请输入临时密码"), Length(min=8, max=200, message="密码至少8位")],
    )
    submit = SubmitField("重置密码")


THRESHOLDS = (("cleanest", "最清洁户最低分"), ("clean", "清洁户最低分"), ("fairly_clean", "较清洁户最低分"))


class RubricForm(BaseForm):
    submit = SubmitField("建立新版本")


def rubric_form_class() -> type[RubricForm]:
    """Ten criteria (name and full marks, in points) and the three grade thresholds."""

    class CountyRubricForm(RubricForm):
        pass

    for code in CRITERIA:
        setattr(CountyRubricForm, f"{code}_label", StringField(f"{code} 名称", validators=[DataRequired("请填写名称")]))
        setattr(CountyRubricForm, f"{code}_max", ScoreField(f"{code} 满分", 1000))
    for key, label in THRESHOLDS:
        setattr(CountyRubricForm, key, ScoreField(label, 1000))
    return CountyRubricForm


class RolloutPlanForm(BaseForm):
    """The plan's years and shares, one row each (blank rows are skipped): the current plan and room
    for more years, up to ``rollout.MAX_PLAN_YEARS``."""

    state = HiddenField()
    submit = SubmitField("保存推进计划")

    def rows(self) -> list[tuple[str, str]]:
        return [(self[f"year_{i}"].data or "", self[f"share_{i}"].data or "") for i in range(MAX_PLAN_YEARS)]


def rollout_plan_form_class() -> type[RolloutPlanForm]:
    class CountyRolloutPlanForm(RolloutPlanForm):
        pass

    for i in range(MAX_PLAN_YEARS):
        setattr(CountyRolloutPlanForm, f"year_{i}", StringField(f"第{i + 1}年 年度", validators=[Length(max=6)]))
        setattr(CountyRolloutPlanForm, f"share_{i}", StringField(f"第{i + 1}年 比例（%）", validators=[Length(max=4)]))
    return CountyRolloutPlanForm


NOT_IN_PROGRAMME = ""


class ProgrammeYearsForm(BaseForm):
    state = HiddenField()
    submit = SubmitField("保存纳入年度")


def programme_years_form_class(villages: Sequence[Village], years: Sequence[int]) -> type[ProgrammeYearsForm]:
    """One choice per village of a township: not yet in the programme, or a year of the plan (or the
    year it has, when that is outside the plan)."""

    class TownshipProgrammeYearsForm(ProgrammeYearsForm):
        pass

    for village in villages:
        choices = sorted({*years, *([village.programme_year] if village.programme_year else [])})
        field = SelectField(
            f"{village.name}（{village.code}）",
            choices=[SelectChoice(NOT_IN_PROGRAMME, "未纳入")] + [SelectChoice(str(y), f"{y}年") for y in choices],
            validate_choice=True,
        )
        setattr(TownshipProgrammeYearsForm, f"village_{village.code}", field)
    return TownshipProgrammeYearsForm
