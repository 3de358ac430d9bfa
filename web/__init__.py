"""The Flask application: ``create_app`` reads configuration, binds the extensions and registers
one blueprint per audience (public, auth, village, township, county, inspection)."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask

# Flask, the database layer and the blueprints are imported inside create_app: the `hygiene`
# command imports this package (web.cli), and only `hygiene serve` needs the app (issue 34).


class ConfigError(RuntimeError):
    """The app cannot start with this configuration; the message says what to set."""


# A signed cookie is only as strong as its key: a short one can be guessed offline from any cookie.
MIN_SECRET_KEY_LENGTH = 32
DEFAULTS: dict[str, Any] = {
    "ENV": "production",  # set with HYGIENE_ENV (from_prefixed_env strips the prefix)
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_SECURE": True,
    "SESSION_COOKIE_NAME": "hygiene_session",
    "PERMANENT_SESSION_LIFETIME": 8 * 3600,
    # Uploads are refused above 8 MiB by the sheet reader; this is the hard ceiling per request.
    "MAX_CONTENT_LENGTH": 9 * 1024 * 1024,
    "WTF_CSRF_TIME_LIMIT": 8 * 3600,
    "REMEMBER_COOKIE_DURATION": 0,
    "WTF_I18N_ENABLED": False,  # WTForms messages come from web.forms.BaseForm's zh locale
    # How many proxies (nginx) stand in front: their X-Forwarded-For then names the client, whose
    # address the login limits count (HYGIENE_PROXY_COUNT=1 behind one nginx; 0 when served directly).
    "PROXY_COUNT": 0,
    # Seconds between the served app's own runs of the time-driven steps (web.ticker); 0 turns
    # them off (then run `hygiene tick` from cron). Tests turn it on where they test it.
    "TICK_SECONDS": 300,
    # Seconds an anonymous public page reuses the version its worker last read (web/public/cache.py,
    # issue 34); tests turn it off, and on where they test it.
    "PUBLIC_VERSION_SECONDS": 1,
}


def _development_secret(instance_path: Path) -> str:
    """A random key kept under instance/, so `make run` needs no setup and sessions survive restarts."""
    key_file = instance_path / "dev_secret_key"
    if not key_file.exists():
        instance_path.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


def load_config(app: Flask, test_config: dict[str, Any] | None) -> None:
    from hygiene import config
    from hygiene.db import DatabaseUrlError, parse_database_url

    app.config.from_mapping(DEFAULTS)
    app.config.from_mapping(config.app_settings())
    try:
        app.config["PUBLIC_URL"] = config.public_url()
        app.config["TRUSTED_HOSTS"] = config.trusted_hosts()
    except config.PublicUrlError as exc:
        raise ConfigError(str(exc)) from None
    if test_config:
        app.config.from_mapping({"TICK_SECONDS": 0, "PUBLIC_VERSION_SECONDS": 0} | test_config)
    instance_path = Path(app.instance_path)
    try:
        if "DATABASE_URL" in app.config:
            app.config["DATABASE_URL"] = parse_database_url(app.config["DATABASE_URL"])
        else:
            app.config["DATABASE_URL"] = config.database_url()
        if app.config.get("DATABASE_REPLICA_URL"):
            app.config["DATABASE_REPLICA_URL"] = parse_database_url(app.config["DATABASE_REPLICA_URL"])
        elif not test_config:
            app.config["DATABASE_REPLICA_URL"] = config.replica_url()
    except DatabaseUrlError as exc:
        raise ConfigError(str(exc)) from None
    development = app.config["ENV"] == "development"
    if not app.config.get("SECRET_KEY"):
        if not development and not app.testing:
            raise ConfigError(
                "未设置 SECRET_KEY：生产环境必须设置环境变量 HYGIENE_SECRET_KEY（或 SECRET_KEY）为随机长字符串"
            )
        app.config["SECRET_KEY"] = _development_secret(instance_path)
    elif not development and not app.testing and len(str(app.config["SECRET_KEY"])) < MIN_SECRET_KEY_LENGTH:
        raise ConfigError(
            f"SECRET_KEY 太短：生产环境的 HYGIENE_SECRET_KEY 至少{MIN_SECRET_KEY_LENGTH}个字符"
            "（可用 python3 -c 'import secrets; print(secrets.token_hex(32))' 生成）"
        )
    if development:
        app.config["SESSION_COOKIE_SECURE"] = False  # plain http on 127.0.0.1


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    from flask import Flask
    from werkzeug.middleware.proxy_fix import ProxyFix

    from hygiene import config

    app = Flask(__name__, instance_path=str(config.instance_path()), instance_relative_config=True)
    load_config(app, test_config)

    from web import converters, database, errors, field, security, ticker, uploads
    from web.extensions import csrf, login_manager

    converters.init_app(app)  # before the blueprints' rules are built with them

    if int(app.config["PROXY_COUNT"]) > 0:
        count = int(app.config["PROXY_COUNT"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count)  # type: ignore[method-assign]
    database.init_app(app)
    uploads.init_app(app)
    csrf.init_app(app)
    login_manager.init_app(app)
    security.init_app(app)
    errors.init_app(app)
    ticker.init_app(app)
    register_blueprints(app)
    field.init_app(app)
    register_template_helpers(app)
    return app


def register_blueprints(app: Flask) -> None:
    from web.auth.views import bp as auth_bp
    from web.county.views import bp as county_bp
    from web.help import bp as help_bp
    from web.inspection.city import bp as city_bp
    from web.inspection.views import bp as inspection_bp
    from web.public.views import bp as public_bp
    from web.township.views import bp as township_bp
    from web.village.views import bp as village_bp

    for bp in (public_bp, auth_bp, village_bp, township_bp, county_bp, inspection_bp, city_bp, help_bp):
        app.register_blueprint(bp)


def register_template_helpers(app: Flask) -> None:
    from web import presentation

    app.jinja_env.globals.update(presentation.template_globals())
    app.jinja_env.filters.update(presentation.template_filters())
