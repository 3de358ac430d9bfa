"""The base of every form: CSRF from Flask-WTF, and WTForms' built-in messages in Chinese."""

from __future__ import annotations

from typing import Any

from flask import abort
from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, SubmitField
from wtforms.validators import StopValidation

from hygiene.io.scores import parse_whole_number

NUL_MESSAGE = "不能包含空字符（NUL，\\0），请删除后重新填写"


class BaseForm(FlaskForm):
    class Meta:
        # WTForms ships zh translations ("不是有效的整数。"); the app sets WTF_I18N_ENABLED = False
        # so that Flask-WTF does not replace them with its Babel lookup (there is no Babel here).
        locales = ("zh",)

    def validate(self, extra_validators: Any = None) -> bool:
        """The fields' own checks, and no NUL in any text (PostgreSQL cannot store one: it was a
        500 on any form, issue 28)."""
        valid = super().validate(extra_validators)
        for field in self:
            values = field.data if isinstance(field.data, list) else [field.data]
            if any(isinstance(value, str) and "\x00" in value for value in values):
                field.errors = [*field.errors, NUL_MESSAGE]
                valid = False
        return bool(valid)


class WholeNumberField(IntegerField):
    """A count typed on a phone (members, quotas): strict like a score (RELIABILITY.md trap 3),
    full-width digits read as digits, the typed text kept when refused."""

    def __init__(self, label: str, minimum: int, maximum: int, *, required: str, **kwargs: object) -> None:
        super().__init__(label, render_kw={"inputmode": "numeric", "autocomplete": "off"}, **kwargs)
        self.minimum, self.maximum, self.required = minimum, maximum, required

    def process_formdata(self, valuelist: list[str]) -> None:
        if not valuelist:
            return
        text = valuelist[0]
        self.data = None
        if text.strip():
            self.data = parse_whole_number(text, self.minimum, self.maximum)  # a ValueError is the field's error

    def pre_validate(self, form: object) -> None:
        if self.data is None and not self.process_errors:
            raise StopValidation(self.required)


# The largest version a guarded row can hold: PostgreSQL's integer column (2**31 - 1).
MAX_VERSION = 2**31 - 1


class VersionField(HiddenField):
    """The version (or 0 for "no row yet") a page showed, posted back with its form so that a save
    over someone else's is refused (RELIABILITY.md: lost updates). ``data`` is always an int; the
    page's own value is ASCII digits, so anything else (``abc``, ``1.5``, ``1e3``, a NUL, a number no
    column holds) was not sent by the page and is the 400 page, before any query."""

    data: int

    def __init__(self, label: str = "", **kwargs: object) -> None:
        super().__init__(label, default=0, **kwargs)

    def process_data(self, value: object) -> None:
        self.data = int(value) if isinstance(value, int | str) and str(value).isdigit() else 0

    def process_formdata(self, valuelist: list[str]) -> None:
        if not valuelist:
            return
        self.data = parse_version(valuelist[0])

    def _value(self) -> str:
        return str(self.data)


def parse_version(text: str) -> int:
    """A posted version: "" is 0, ASCII digits up to MAX_VERSION are themselves, anything else 400."""
    if text == "":
        return 0
    if not (text.isascii() and text.isdigit() and len(text) <= len(str(MAX_VERSION))) or int(text) > MAX_VERSION:
        abort(400)
    return int(text)


class ConfirmImportForm(BaseForm):
    """The preview's button that writes a checked upload (web.uploads.confirm)."""

    submit = SubmitField("确认导入")
