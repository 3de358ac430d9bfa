"""``hygiene backup``, ``hygiene restore`` and ``hygiene check`` (INTERCHANGE.md §3, issue 32),
registered on the ``hygiene`` group by ``web.cli``."""

from __future__ import annotations

from pathlib import Path

import click
import sqlalchemy as sa

from hygiene import migrate
from hygiene.db import make_engine, make_sessionmaker, redact_url
from hygiene.services import integrity

# web.cli imports this module to register its commands: its helpers are imported when one runs.


@click.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def backup(file: Path) -> None:
    """A consistent copy of the whole database while the app keeps running."""
    from web.cli import open_engine

    engine = open_engine()
    try:
        done = integrity.backup(engine, file)
    except integrity.IntegrityError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        engine.dispose()
    click.echo(f"已备份 {redact_url(engine.url)} 到 {done.path}（{done.size} 字节，SHA-256 {done.sha256}）")


@click.command("restore")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def restore(file: Path) -> None:
    """Restore a backup into an empty database (refused into one holding data), then check it."""
    from web.cli import InvalidInput, database_url

    engine = make_engine(database_url())
    try:
        integrity.restore(engine, file)
    except integrity.RestoreRefused as exc:
        raise InvalidInput(str(exc)) from None
    except integrity.IntegrityError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        engine.dispose()
    click.echo(f"已从 {file} 恢复到 {redact_url(engine.url)}")
    if migrate.current_revision(engine) != migrate.head_revision():
        click.echo("备份的数据库版本较旧：请运行 hygiene init-db 升级，再运行 hygiene check")
        engine.dispose()
        return
    _check(engine)


@click.command("check")
def check() -> None:
    """Verify foreign keys, counties, records' digests and the audit chain; exit 1 on any problem."""
    from web.cli import open_engine

    _check(open_engine())


def _check(engine: sa.Engine) -> None:
    try:
        with make_sessionmaker(engine)() as session:
            report = integrity.check(session)
    finally:
        engine.dispose()
    for line in integrity.summary(report):
        click.echo(line)
    if not report.ok:
        raise SystemExit(1)


@click.command("public-rows")
def public_rows() -> None:
    """Store the public list's rows of records posted before this version, so their pages are not rendered live."""
    from hygiene.services.rating import records
    from web.cli import transaction

    with transaction() as session:
        lacking = records.records_lacking_public_rows(session)
        with click.progressbar(
            records.store_missing_public_rows(session, lacking), length=len(lacking), label="公示名单"
        ) as stored:
            for _ in stored:
                pass
    click.echo(f"已为 {len(lacking)} 份公示记录保存名单页面" if lacking else "所有公示记录均已保存名单页面，未作更改")
