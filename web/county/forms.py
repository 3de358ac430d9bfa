from __future__ import annotations

from wtforms import PasswordField, SelectField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Regexp

from hygiene.enums import Role
from web.forms import BaseForm


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
    unit_code = StringField("所属单位编码（县、乡镇或村）", validators=[DataRequired("请输入单位编码"), Length(max=16)])
    password = PasswordField(
        "初始密码", validators=[DataRequired("请输入初始密码"), Length(min=8, max=200, message="密码至少8位")]
    )
    submit = SubmitField("创建账号")
