"""stars, titles and the award ledger (issue 29, RULES.md §8)

``stars`` gets ``is_title`` (a title such as 好婆婆 or 十星级文明户, granted like a star but not one
of the county's ten) and ``certificate``. New tables: ``star_settings`` (a county's tiers by star
count and its list of disqualifying events) and ``award_goods_mappings`` (缺什么奖什么: criterion →
goods). Every county without a catalogue gets the default one, every county its star settings and
the default goods mapping, and every household holding a valid plaque the hygiene star from the
plaque's issue date (the star follows the plaque from now on). A plaque event may now be a
reinstatement (``reinstated``: a revocation outside the cycle undone); downgrading with such events
stops on the old constraint rather than deleting them.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 20:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of hygiene.services.awards.stars' defaults as of this revision.
DEFAULT_STARS = (
    ("hygiene", "卫生星", True),
    ("law", "守法星", True),
    ("filial", "孝老星", True),
    ("diligent", "勤劳星", True),
    ("harmony", "和睦星", True),
    ("study", "好学星", False),
    ("thrift", "节俭星", False),
    ("kindness", "诚信星", False),
    ("ecology", "生态星", False),
    ("service", "公益星", False),
)
DISQUALIFYING_EVENTS = "违法犯罪\n参与赌博或吸毒\n家庭暴力"
DEFAULT_GOODS = (
    ("c01", "洗漱用品", 3000),
    ("c02", "垃圾桶", 6000),
    ("c03", "扫帚和撮箕", 3000),
    ("c04", "置物架", 8000),
    ("c05", "厕刷和洁厕剂", 2000),
    ("c06", "扎线带和挂钩", 1000),
    ("c07", "圈舍消毒剂", 3000),
    ("c08", "环境卫生公约挂图", 1000),
    ("c09", "灶台清洁套装", 4000),
    ("c10", "污水沉淀桶", 8000),
)


KINDS = ("issued", "upgraded", "downgraded", "revoked")
KIND_CHECK = "ck_plaque_events_plaque_event_kind"


def _event_kinds(kinds: Sequence[str]) -> None:
    with op.batch_alter_table("plaque_events") as batch:
        batch.drop_constraint(op.f(KIND_CHECK), type_="check")
        batch.create_check_constraint(op.f(KIND_CHECK), "kind IN (" + ", ".join(f"'{k}'" for k in kinds) + ")")


def upgrade() -> None:
    _event_kinds((*KINDS, "reinstated"))
    # ADD COLUMN with inline CHECK, as in 0002 and 0007: no batch rebuild of `stars` on SQLite.
    op.execute(
        "ALTER TABLE stars ADD COLUMN is_title BOOLEAN DEFAULT false NOT NULL "
        "CONSTRAINT ck_stars_title_not_base CHECK (NOT (is_title AND is_base))"
    )
    op.add_column("stars", sa.Column("certificate", sa.String(60), nullable=True))
    op.create_table(
        "star_settings",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("county_id", sa.Integer(), sa.ForeignKey("counties.id", ondelete="RESTRICT"), nullable=False),
        sa.Column("bronze_stars", sa.Integer(), nullable=False),
        sa.Column("silver_stars", sa.Integer(), nullable=False),
        sa.Column("gold_stars", sa.Integer(), nullable=False),
        sa.Column("disqualifying_events", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "bronze_stars >= 1 AND bronze_stars < silver_stars AND silver_stars < gold_stars", name="tiers_ordered"
        ),
        sa.UniqueConstraint("county_id"),
    )
    op.create_table(
        "award_goods_mappings",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("county_id", sa.Integer(), sa.ForeignKey("counties.id", ondelete="RESTRICT"), nullable=False),
        sa.Column("criterion_code", sa.String(8), nullable=False),
        sa.Column("item", sa.String(60), nullable=False),
        sa.Column("value_fen", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("value_fen > 0", name="value_positive"),
        sa.UniqueConstraint("county_id", "criterion_code"),
    )
    conn = op.get_bind()
    counties = [row[0] for row in conn.execute(sa.text("SELECT id FROM counties ORDER BY id"))]
    with_stars = {row[0] for row in conn.execute(sa.text("SELECT DISTINCT county_id FROM stars"))}
    for county_id in counties:
        if county_id not in with_stars:
            for position, (code, name, base) in enumerate(DEFAULT_STARS):
                conn.execute(
                    sa.text(
                        "INSERT INTO stars (county_id, code, name, is_base, is_hygiene, position, is_title)"
                        " VALUES (:county, :code, :name, :base, :hygiene, :position, false)"
                    ),
                    dict(county=county_id, code=code, name=name, base=base, hygiene=code == "hygiene", position=position),
                )
        conn.execute(
            sa.text(
                "INSERT INTO star_settings (county_id, bronze_stars, silver_stars, gold_stars, disqualifying_events)"
                " VALUES (:county, 5, 8, 10, :events)"
            ),
            dict(county=county_id, events=DISQUALIFYING_EVENTS),
        )
        for criterion, item, value in DEFAULT_GOODS:
            conn.execute(
                sa.text(
                    "INSERT INTO award_goods_mappings (county_id, criterion_code, item, value_fen)"
                    " VALUES (:county, :criterion, :item, :value)"
                ),
                dict(county=county_id, criterion=criterion, item=item, value=value),
            )
    # The hygiene star of every valid plaque's household that does not hold it yet.
    conn.execute(
        sa.text(
            "INSERT INTO household_stars (county_id, household_id, star_id, granted_on, grant_reason, plaque_id)"
            " SELECT plaques.county_id, plaques.household_id, stars.id, DATE(plaques.issued_at),"
            " '持有有效牌匾 ' || plaques.serial, plaques.id"
            " FROM plaques JOIN stars ON stars.county_id = plaques.county_id AND stars.is_hygiene"
            " WHERE plaques.state = 'valid' AND NOT EXISTS (SELECT 1 FROM household_stars held"
            " WHERE held.household_id = plaques.household_id AND held.star_id = stars.id"
            " AND held.withdrawn_on IS NULL)"
        )
    )


def downgrade() -> None:
    _event_kinds(KINDS)
    op.drop_table("award_goods_mappings")
    op.drop_table("star_settings")
    op.execute("ALTER TABLE stars DROP COLUMN certificate")
    op.execute("ALTER TABLE stars DROP COLUMN is_title")
