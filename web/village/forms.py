from __future__ import annotations

from collections.abc import Callable, Sequence

from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, DateField, Field, HiddenField, SelectField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, StopValidation, ValidationError

from hygiene import naming
from hygiene.enums import CRITERIA
from hygiene.services.setup.units import HEAD_NAME_LENGTH
from web.forms import BaseForm, VersionField, WholeNumberField


def rule(problem: Callable[[str], str | None]) -> Callable[[BaseForm, Field], None]:
    """A field validator from one of hygiene.naming's rules, so that the form says what imports say."""

    def validate(form: BaseForm, field: Field) -> None:
        if field.data and (reason := problem(field.data)):
            raise ValidationError(reason)

    return validate


CODE = rule(naming.household_code_problem)
NAME = rule(lambda name: naming.name_problem(naming.clean(name), HEAD_NAME_LENGTH, "户主姓名"))
PHONE = rule(naming.phone_problem)


class HouseholdForm(BaseForm):
    code = StringField("户编号", validators=[DataRequired("请输入户编号"), CODE])
    head_name = StringField("户主姓名", validators=[DataRequired("请输入户主姓名"), NAME])
    group_id = SelectField("村民组", coerce=int, validators=[DataRequired("请选择村民组")])
    members = WholeNumberField("人口", 1, 99, required="请输入人口数", default=1)
    phone = StringField("联系电话（不公开）", validators=[Optional(), PHONE], render_kw={"inputmode": "tel"})
    is_poor = BooleanField("脱贫户/低收入户（不公开）")
    submit = SubmitField("保存")


class HouseholdEditForm(HouseholdForm):
    code = None  # the code identifies the household and never changes
    moved_away_on = DateField("迁出日期（如已迁出）", validators=[Optional()])
    reason = StringField("修改原因", validators=[DataRequired("请填写修改原因"), Length(max=200)])
    version = VersionField()


class RecodeForm(BaseForm):
    """Correct a household's mistyped code (issue 30), after a confirmation step."""

    new_code = StringField("新户编号", validators=[DataRequired("请填写新户编号"), Length(max=24), CODE])
    reason = StringField("更正原因", validators=[DataRequired("请填写更正原因"), Length(max=500)])
    version = VersionField()
    confirmed = HiddenField()  # "1" once the confirmation page (templates/confirm.html) was seen
    submit = SubmitField("下一步：确认")


class MoveHouseholdForm(BaseForm):
    """Move a household to a group of another village (issue 30), after a confirmation step."""

    to_group = SelectField("迁入的村和村民组", coerce=int, validate_choice=True)
    new_code = StringField("迁入后的户编号（可不改）", validators=[DataRequired("请填写户编号"), Length(max=24), CODE])
    reason = StringField("迁移原因", validators=[DataRequired("请填写迁移原因"), Length(max=500)])
    version = VersionField()
    confirmed = HiddenField()
    submit = SubmitField("下一步：确认")


class ScoreField(StringField):
    """A score typed on a phone: strict (RELIABILITY.md trap 3), parsed once into ``tenths``.
    Full-width digits (９.５) are digits; anything else that is not a plain decimal is an error."""

    def __init__(self, label: str, max_tenths: int, **kwargs: object) -> None:
        render_kw = {"inputmode": "decimal", "autocomplete": "off", "class": "score"}
        super().__init__(label, render_kw=render_kw, **kwargs)
        self.max_tenths = max_tenths
        self.tenths: int | None = None

    def pre_validate(self, form: BaseForm) -> None:
        from hygiene.io.scores import parse_score

        self.tenths = None
        try:
            self.tenths = parse_score(self.data or "", self.max_tenths)
        except ValueError as exc:
            raise StopValidation(str(exc)) from None


def review_form_class(criteria: list[tuple[str, str, int]], peer_choices: list[SelectChoice]) -> type[BaseForm]:
    """A review form for this rubric version: one score field per criterion, labelled and bounded by it."""

    class ReviewForm(BaseForm):
        reviewer = SelectField("评议户（同组其他农户）", choices=peer_choices, validate_choice=False)
        team_members = StringField(
            "评比检查小组成员", validators=[Length(max=200)], render_kw={"placeholder": "如：王组长、李委员"}
        )
        version = VersionField()
        submit = SubmitField("保存评议")
        # the phone flow of the 复评: one tap saves and opens the next household still without one
        save_and_next = SubmitField("保存并录入下一户")

    for code, label, max_tenths in criteria:
        setattr(ReviewForm, code, ScoreField(f"{label}（0–{max_tenths / 10:g}分）", max_tenths))
    return ReviewForm


class DeleteReviewForm(BaseForm):
    version = VersionField()
    reason = StringField("删除原因", validators=[DataRequired("请填写删除原因"), Length(max=200)])
    submit = SubmitField("删除此评议")


class SubmitPeriodForm(BaseForm):
    version = VersionField()
    reason = StringField("仍要提交审核的原因", validators=[Optional(), Length(max=500)])  # with shortfalls only
    submit = SubmitField("提交乡镇审核")


class UploadForm(BaseForm):
    file = FileField("选择文件（.xlsx、.xls 或 .csv）", validators=[FileRequired("请选择要上传的文件")])
    submit = SubmitField("上传并检查")


class GroupEntryForm(BaseForm):
    """The group entry screen: the review team once, then one text cell per household and criterion
    (named ``s_<household code>_<criterion code>``), checked by the review sheet's rules."""

    team_members = StringField("评比检查小组成员", validators=[Length(max=200)])
    submit = SubmitField("保存本组复评")

    @staticmethod
    def cell(household_code: str, criterion: str) -> str:
        return f"s_{household_code}_{criterion}"

    @staticmethod
    def version(household_code: str) -> str:
        """The version of the household's group review the screen showed (0: none yet)."""
        return f"v_{household_code}"

    @staticmethod
    def photo(household_code: str) -> str:
        """The household's photos (optional; a file input, not a form field)."""
        return f"photo-{household_code}"


def group_entry_form_class(household_codes: Sequence[str]) -> type[GroupEntryForm]:
    class VillageGroupEntryForm(GroupEntryForm):
        pass

    for code in household_codes:
        for criterion in CRITERIA:
            field = StringField(
                f"{code} {criterion}",
                validators=[Length(max=10)],
                render_kw={"inputmode": "decimal", "autocomplete": "off", "class": "score-cell"},
            )
            setattr(VillageGroupEntryForm, GroupEntryForm.cell(code, criterion), field)
        setattr(VillageGroupEntryForm, GroupEntryForm.version(code), VersionField())
    return VillageGroupEntryForm
