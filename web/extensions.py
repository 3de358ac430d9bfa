"""Extensions, created unbound and bound to the app in ``create_app``."""

from __future__ import annotations

from flask_login import LoginManager
from flask_wtf import CSRFProtect

from hygiene.models import User
from hygiene.services.setup import accounts
from web.database import get_session

csrf = CSRFProtect()
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "请先登录"
login_manager.login_message_category = "warning"
login_manager.session_protection = "basic"


def load_user(session_token: str) -> User | None:
    return accounts.user_for_session_token(get_session(), session_token)


login_manager.user_loader(load_user)
