"""The base of every form: CSRF from Flask-WTF, and WTForms' built-in messages in Chinese."""

from __future__ import annotations

from flask_wtf import FlaskForm


class BaseForm(FlaskForm):
    class Meta:
        # WTForms ships zh translations ("不是有效的整数。"); the app sets WTF_I18N_ENABLED = False
        # so that Flask-WTF does not replace them with its Babel lookup (there is no Babel here).
        locales = ("zh",)
