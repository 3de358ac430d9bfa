from __future__ import annotations

from wtforms import BooleanField, DateField, HiddenField, IntegerField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp

from web.forms import BaseForm

CODE = Regexp(r"^[0-9A-Za-z-]{1,24}$", message="户编号只能包含数字、字母和 -，最长24位")
PHONE = Regexp(r"^[0-9+\- ]{5,20}$", message="电话号码格式不正确")


class HouseholdForm(BaseForm):
    code = StringField("户编号", validators=[DataRequired("请输入户编号"), CODE])
    head_name = StringField("户主姓名", validators=[DataRequired("请输入户主姓名"), Length(max=40)])
    group_id = SelectField("村民组", coerce=int, validators=[DataRequired("请选择村民组")])
    members = IntegerField(
        "人口",
        default=1,
        validators=[InputRequired("请输入人口数"), NumberRange(1, 99, "人口应在1–99之间")],
        render_kw={"inputmode": "numeric"},
    )
    phone = StringField("联系电话（不公开）", validators=[Optional(), PHONE], render_kw={"inputmode": "tel"})
    is_poor = BooleanField("脱贫户/低收入户（不公开）")
    submit = SubmitField("保存")


class HouseholdEditForm(HouseholdForm):
    code = None  # type: ignore[assignment]  # the code identifies the household and never changes
    moved_away_on = DateField("迁出日期（如已迁出）", validators=[Optional()])
    reason = StringField("修改原因", validators=[DataRequired("请填写修改原因"), Length(max=200)])
    version = HiddenField()
