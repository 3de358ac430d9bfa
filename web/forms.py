"""The base of every form: CSRF from Flask-WTF, and WTForms' built-in messages in Chinese."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import IntegerField, SubmitField
from wtforms.validators import StopValidation

from hygiene.io.scores import parse_whole_number


class BaseForm(FlaskForm):
    class Meta:
        # WTForms ships zh translations ("不是有效的整数。"); the app sets WTF_I18N_ENABLED = False
        # so that Flask-WTF does not replace them with its Babel lookup (there is no Babel here).
        locales = ("zh",)


class WholeNumberField(IntegerField):
    """A count typed on a phone (members, quotas): strict like a score (RELIABILITY.md trap 3),
    full-width digits read as digits, the typed text kept when refused."""

    def __init__(self, label: str, minimum: int, maximum: int, *, required: str, **kwargs: object) -> None:
        super().__init__(label, render_kw={"inputmode": "numeric", "autocomplete": "off"}, **kwargs)  # type: ignore[arg-type]
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


class ConfirmImportForm(BaseForm):
    """The preview's button that writes a checked upload (web.uploads.confirm)."""

    submit = SubmitField("确认导入")
