"""corrections (更正, issue 30): voided plaques, reinstated and voided plaque events, records
superseded by a correction

``plaques.state`` may be ``voided`` (a plaque issued by a finalisation that a correction undid);
``plaque_events.kind`` may be ``voided`` (``reinstated``, a revocation undone, came with 0015);
``result_records.superseded_by_correction`` marks a record the county administrator sent back, so
the next version says publicly that it corrects it; ``users.phone`` comes from the account sheet.
The two enums are VARCHAR plus a named CHECK
(``hygiene.models._types.enum_type``): PostgreSQL swaps the CHECK in place; SQLite rebuilds the two
tables (batch mode), the partial unique index of valid plaques dropped before and made again after.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 21:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_STATES = ("valid", "revoked")
NEW_STATES = (*OLD_STATES, "voided")
OLD_KINDS = ("issued", "upgraded", "downgraded", "revoked", "reinstated")  # as migration 0015 (stars) left them
NEW_KINDS = (*OLD_KINDS, "voided")
VALID = sa.text("state = 'valid'")


def _in(column: str, values: Sequence[str]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _swap_checks(states: Sequence[str], kinds: Sequence[str]) -> None:
    checks = (
        ("plaques", "ck_plaques_plaque_state", _in("state", states)),
        ("plaque_events", "ck_plaque_events_plaque_event_kind", _in("kind", kinds)),
    )
    if op.get_bind().dialect.name != "sqlite":
        for table, name, condition in checks:
            op.drop_constraint(op.f(name), table, type_="check")
            op.create_check_constraint(op.f(name), table, condition)
        return
    op.drop_index("uq_plaques_one_valid_per_household", table_name="plaques")
    for table, name, condition in checks:
        with op.batch_alter_table(table, recreate="always") as batch:
            batch.drop_constraint(op.f(name), type_="check")
            batch.create_check_constraint(op.f(name), sa.text(condition))
    op.create_index(
        "uq_plaques_one_valid_per_household",
        "plaques",
        ["county_id", "household_id"],
        unique=True,
        sqlite_where=VALID,
    )


def upgrade() -> None:
    op.add_column("users", sa.Column("phone", sa.String(length=20), nullable=True))
    op.add_column(
        "result_records",
        sa.Column("superseded_by_correction", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    _swap_checks(NEW_STATES, NEW_KINDS)


def downgrade() -> None:
    bind = op.get_bind()
    left = bind.scalar(sa.text("SELECT count(*) FROM plaques WHERE state = 'voided'")) or 0
    left += bind.scalar(sa.text("SELECT count(*) FROM plaque_events WHERE kind = 'voided'")) or 0
    if left:
        raise RuntimeError("corrections have been recorded (voided plaques, reinstated or voided events): cannot downgrade")
    _swap_checks(OLD_STATES, OLD_KINDS)
    op.execute("ALTER TABLE result_records DROP COLUMN superseded_by_correction")
    op.execute("ALTER TABLE users DROP COLUMN phone")
