"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-24 18:13:40.125339
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# The audit log is append-only in the database itself, not only in code (RELIABILITY.md).
AUDIT_GUARD_SQLITE = [
    f"""CREATE TRIGGER audit_log_no_{op_name.lower()} BEFORE {op_name} ON audit_log
    BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"""
    for op_name in ("UPDATE", "DELETE")
]
AUDIT_GUARD_POSTGRESQL = [
    """CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$""",
    """CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()""",
]


def _create_audit_guard() -> None:
    dialect = op.get_bind().dialect.name
    for statement in AUDIT_GUARD_SQLITE if dialect == "sqlite" else AUDIT_GUARD_POSTGRESQL:
        op.execute(statement)


def _drop_audit_guard() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")


def upgrade() -> None:
    op.create_table('counties',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=12), nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('cleanest_floor_percent', sa.Integer(), nullable=False),
    sa.Column('clean_floor_percent', sa.Integer(), nullable=False),
    sa.Column('gap_tenths', sa.Integer(), nullable=False),
    sa.Column('min_peers', sa.Integer(), nullable=False),
    sa.Column('posting_days', sa.Integer(), nullable=False),
    sa.Column('plaque_wait_periods', sa.Integer(), nullable=False),
    sa.Column('red_black_list', sa.Boolean(), nullable=False),
    sa.Column('notice_deadline_hours', sa.Integer(), nullable=False),
    sa.CheckConstraint('clean_floor_percent BETWEEN 0 AND 100', name=op.f('ck_counties_clean_floor_percent_range')),
    sa.CheckConstraint('cleanest_floor_percent BETWEEN 0 AND 100', name=op.f('ck_counties_cleanest_floor_percent_range')),
    sa.CheckConstraint('gap_tenths > 0', name=op.f('ck_counties_gap_positive')),
    sa.CheckConstraint('min_peers >= 0', name=op.f('ck_counties_min_peers_nonnegative')),
    sa.CheckConstraint('notice_deadline_hours >= 1', name=op.f('ck_counties_notice_deadline_positive')),
    sa.CheckConstraint('plaque_wait_periods >= 0', name=op.f('ck_counties_plaque_wait_nonnegative')),
    sa.CheckConstraint('posting_days >= 1', name=op.f('ck_counties_posting_days_positive')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_counties')),
    sa.UniqueConstraint('code', name=op.f('uq_counties_code'))
    )
    op.create_table('login_attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=80), nullable=False),
    sa.Column('remote_addr', sa.String(length=45), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_attempts'))
    )
    op.create_index('ix_login_attempts_username_at', 'login_attempts', ['username', 'at'], unique=False)
    op.create_table('county_budgets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('county_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.CheckConstraint('amount_fen >= 0', name=op.f('ck_county_budgets_amount_nonnegative')),
    sa.ForeignKeyConstraint(['county_id'], ['counties.id'], name=op.f('fk_county_budgets_county_id_counties'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_county_budgets')),
    sa.UniqueConstraint('county_id', 'year', name=op.f('uq_county_budgets_county_id_year'))
    )
    op.create_table('inspection_teams',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('county_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('members', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['county_id'], ['counties.id'], name=op.f('fk_inspection_teams_county_id_counties'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inspection_teams')),
    sa.UniqueConstraint('county_id', 'name', name=op.f('uq_inspection_teams_county_id_name'))
    )
    op.create_index(op.f('ix_inspection_teams_county_id'), 'inspection_teams', ['county_id'], unique=False)
    op.create_table('rollout_plan_years',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('county_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('share_percent', sa.Integer(), nullable=False),
    sa.CheckConstraint('share_percent BETWEEN 0 AND 100', name=op.f('ck_rollout_plan_years_share_range')),
    sa.ForeignKeyConstraint(['county_id'], ['counties.id'], name=op.f('fk_rollout_plan_years_county_id_counties'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rollout_plan_years')),
    sa.UniqueConstraint('county_id', 'year', name=op.f('uq_rollout_plan_years_county_id_year'))
    )
    op.create_index(op.f('ix_rollout_plan_years_county_id'), 'rollout_plan_years', ['county_id'], unique=False)
    op.create_table('rubric_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('county_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('cleanest_tenths', sa.Integer(), nullable=False),
    sa.Column('clean_tenths', sa.Integer(), nullable=False),
    sa.Column('fairly_clean_tenths', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('fairly_clean_tenths >= 0 AND fairly_clean_tenths < clean_tenths AND clean_tenths < cleanest_tenths', name=op.f('ck_rubric_versions_thresholds_ordered')),
    sa.ForeignKeyConstraint(['county_id'], ['counties.id'], name=op.f('fk_rubric_versions_county_id_counties'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rubric_versions')),
    sa.UniqueConstraint('county_id', 'number', name=op.f('uq_rubric_versions_county_id_number'))
    )
    op.create_index(op.f('ix_rubric_versions_county_id'), 'rubric_versions', ['county_id'], unique=False)
    op.create_table('stars',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('county_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=24), nullable=False),
    sa.Column('name', sa.String(length=30), nullable=False),
    sa.Column('is_base', sa.Boolean(), nullable=False),
    sa.Column('is_hygiene', sa.Boolean(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.CheckConstraint('NOT is_hygiene OR is_base', name=op.f('ck_stars_hygiene_is_base')),
    sa.ForeignKeyConstraint(['county_id'], ['counties.id'], name=op.f('fk_stars_county_id_counties'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stars')),
    sa.UniqueConstraint('county_id', 'code', name=op.f('uq_stars_county_id_code'))
    )
    op.create_index('uq_stars_one_hygiene_star', 'stars', ['county_id'], unique=True, sqlite_where=sa.text('is_hygiene'), postgresql_where=sa.text('is_hygiene'))
    op.create_table('townships',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('county_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=12), nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.ForeignKeyConstraint(['county_id'], ['counties.id'], name=op.f('fk_townships_county_id_counties'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_townships')),
    sa.UniqueConstraint('code', name=op.f('uq_townships_code'))
    )
    op.create_index(op.f('ix_townships_county_id'), 'townships', ['county_id'], unique=False)
    op.create_table('periods',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('county_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=6), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('rubric_version_id', sa.Integer(), nullable=False),
    sa.CheckConstraint("length(code) = 6 AND substr(code, 5, 1) = 'Q' AND substr(code, 6, 1) IN ('1','2','3','4')", name=op.f('ck_periods_code_format')),
    sa.CheckConstraint('starts_on < ends_on', name=op.f('ck_periods_dates_ordered')),
    sa.ForeignKeyConstraint(['county_id'], ['counties.id'], name=op.f('fk_periods_county_id_counties'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['rubric_version_id'], ['rubric_versions.id'], name=op.f('fk_periods_rubric_version_id_rubric_versions'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_periods')),
    sa.UniqueConstraint('county_id', 'code', name=op.f('uq_periods_county_id_code'))
    )
    op.create_index(op.f('ix_periods_county_id'), 'periods', ['county_id'], unique=False)
    op.create_table('rubric_criteria',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rubric_version_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=3), nullable=False),
    sa.Column('label', sa.String(length=60), nullable=False),
    sa.Column('max_tenths', sa.Integer(), nullable=False),
    sa.CheckConstraint("code IN ('c01','c02','c03','c04','c05','c06','c07','c08','c09','c10')", name=op.f('ck_rubric_criteria_code_known')),
    sa.CheckConstraint('max_tenths > 0 AND max_tenths <= 1000', name=op.f('ck_rubric_criteria_max_range')),
    sa.ForeignKeyConstraint(['rubric_version_id'], ['rubric_versions.id'], name=op.f('fk_rubric_criteria_rubric_version_id_rubric_versions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rubric_criteria')),
    sa.UniqueConstraint('rubric_version_id', 'code', name=op.f('uq_rubric_criteria_rubric_version_id_code'))
    )
    op.create_table('villages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('township_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('programme_year', sa.Integer(), nullable=True),
    sa.CheckConstraint('programme_year IS NULL OR programme_year BETWEEN 2000 AND 2100', name=op.f('ck_villages_programme_year_range')),
    sa.ForeignKeyConstraint(['township_id'], ['townships.id'], name=op.f('fk_villages_township_id_townships'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_villages')),
    sa.UniqueConstraint('code', name=op.f('uq_villages_code'))
    )
    op.create_index(op.f('ix_villages_township_id'), 'villages', ['township_id'], unique=False)
    op.create_table('groups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('village_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.ForeignKeyConstraint(['village_id'], ['villages.id'], name=op.f('fk_groups_village_id_villages'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_groups')),
    sa.UniqueConstraint('village_id', 'code', name=op.f('uq_groups_village_id_code'))
    )
    op.create_index(op.f('ix_groups_village_id'), 'groups', ['village_id'], unique=False)
    op.create_table('inspection_assignments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('period_id', sa.Integer(), nullable=False),
    sa.Column('township_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['period_id'], ['periods.id'], name=op.f('fk_inspection_assignments_period_id_periods'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['team_id'], ['inspection_teams.id'], name=op.f('fk_inspection_assignments_team_id_inspection_teams'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['township_id'], ['townships.id'], name=op.f('fk_inspection_assignments_township_id_townships'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inspection_assignments')),
    sa.UniqueConstraint('period_id', 'township_id', name=op.f('uq_inspection_assignments_period_id_township_id'))
    )
    op.create_index(op.f('ix_inspection_assignments_team_id'), 'inspection_assignments', ['team_id'], unique=False)
    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=40), nullable=False),
    sa.Column('display_name', sa.String(length=40), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=False),
    sa.Column('role', sa.Enum('county_admin', 'township_reviewer', 'village_clerk', 'inspector', name='user_role', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('county_id', sa.Integer(), nullable=True),
    sa.Column('township_id', sa.Integer(), nullable=True),
    sa.Column('village_id', sa.Integer(), nullable=True),
    sa.Column('session_token', sa.String(length=64), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("(role IN ('county_admin', 'inspector') AND county_id IS NOT NULL AND township_id IS NULL AND village_id IS NULL) OR (role = 'township_reviewer' AND township_id IS NOT NULL AND county_id IS NULL AND village_id IS NULL) OR (role = 'village_clerk' AND village_id IS NOT NULL AND county_id IS NULL AND township_id IS NULL)", name=op.f('ck_users_scope_matches_role')),
    sa.CheckConstraint('length(username) >= 2', name=op.f('ck_users_username_length')),
    sa.ForeignKeyConstraint(['county_id'], ['counties.id'], name=op.f('fk_users_county_id_counties'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['township_id'], ['townships.id'], name=op.f('fk_users_township_id_townships'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['village_id'], ['villages.id'], name=op.f('fk_users_village_id_villages'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('session_token', name=op.f('uq_users_session_token')),
    sa.UniqueConstraint('username', name=op.f('uq_users_username'))
    )
    op.create_table('village_periods',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('village_id', sa.Integer(), nullable=False),
    sa.Column('period_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.Enum('draft', 'submitted', 'returned', 'approved', 'published', 'final', name='workflow_state', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('return_reason', sa.Text(), nullable=True),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('posting_ends_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finalized_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint("state != 'returned' OR return_reason IS NOT NULL", name=op.f('ck_village_periods_returned_has_reason')),
    sa.CheckConstraint("state NOT IN ('published', 'final') OR posting_ends_at IS NOT NULL", name=op.f('ck_village_periods_published_has_posting_end')),
    sa.ForeignKeyConstraint(['period_id'], ['periods.id'], name=op.f('fk_village_periods_period_id_periods'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['village_id'], ['villages.id'], name=op.f('fk_village_periods_village_id_villages'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_village_periods')),
    sa.UniqueConstraint('village_id', 'period_id', name=op.f('uq_village_periods_village_id_period_id'))
    )
    op.create_index(op.f('ix_village_periods_period_id'), 'village_periods', ['period_id'], unique=False)
    op.create_index(op.f('ix_village_periods_village_id'), 'village_periods', ['village_id'], unique=False)
    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('actor', sa.String(length=40), nullable=False),
    sa.Column('entity', sa.String(length=40), nullable=False),
    sa.Column('entity_id', sa.String(length=40), nullable=False),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('before', sa.JSON(), nullable=True),
    sa.Column('after', sa.JSON(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_audit_log_user_id_users'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    op.create_index('ix_audit_log_entity', 'audit_log', ['entity', 'entity_id'], unique=False)
    op.create_table('award_quotas',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('village_period_id', sa.Integer(), nullable=False),
    sa.Column('cleanest_quota', sa.Integer(), nullable=False),
    sa.Column('clean_quota', sa.Integer(), nullable=False),
    sa.Column('set_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint('clean_quota >= 0', name=op.f('ck_award_quotas_clean_nonnegative')),
    sa.CheckConstraint('cleanest_quota >= 0', name=op.f('ck_award_quotas_cleanest_nonnegative')),
    sa.ForeignKeyConstraint(['village_period_id'], ['village_periods.id'], name=op.f('fk_award_quotas_village_period_id_village_periods'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_award_quotas')),
    sa.UniqueConstraint('village_period_id', name=op.f('uq_award_quotas_village_period_id'))
    )
    op.create_table('households',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('county_id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=24), nullable=False),
    sa.Column('head_name', sa.String(length=40), nullable=False),
    sa.Column('members', sa.Integer(), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=True),
    sa.Column('is_poor', sa.Boolean(), nullable=False),
    sa.Column('moved_away_on', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint('length(code) >= 1', name=op.f('ck_households_code_not_empty')),
    sa.CheckConstraint('length(head_name) >= 1', name=op.f('ck_households_head_name_not_empty')),
    sa.CheckConstraint('members >= 1 AND members <= 99', name=op.f('ck_households_members_range')),
    sa.ForeignKeyConstraint(['county_id'], ['counties.id'], name=op.f('fk_households_county_id_counties'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_households_group_id_groups'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_households')),
    sa.UniqueConstraint('county_id', 'code', name=op.f('uq_households_county_id_code'))
    )
    op.create_index(op.f('ix_households_group_id'), 'households', ['group_id'], unique=False)
    op.create_table('village_assessments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('village_period_id', sa.Integer(), nullable=False),
    sa.Column('hygiene_management', sa.Integer(), nullable=False),
    sa.Column('public_places', sa.Integer(), nullable=False),
    sa.Column('courtyards_indoors', sa.Integer(), nullable=False),
    sa.Column('personal_hygiene', sa.Integer(), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('assessed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint('courtyards_indoors >= 0 AND courtyards_indoors <= 1000', name=op.f('ck_village_assessments_courtyards_indoors_range')),
    sa.CheckConstraint('hygiene_management >= 0 AND hygiene_management <= 1000', name=op.f('ck_village_assessments_hygiene_management_range')),
    sa.CheckConstraint('personal_hygiene >= 0 AND personal_hygiene <= 1000', name=op.f('ck_village_assessments_personal_hygiene_range')),
    sa.CheckConstraint('public_places >= 0 AND public_places <= 1000', name=op.f('ck_village_assessments_public_places_range')),
    sa.ForeignKeyConstraint(['village_period_id'], ['village_periods.id'], name=op.f('fk_village_assessments_village_period_id_village_periods'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_village_assessments')),
    sa.UniqueConstraint('village_period_id', name=op.f('uq_village_assessments_village_period_id'))
    )
    op.create_table('award_ledger_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('county_id', sa.Integer(), nullable=False),
    sa.Column('township_id', sa.Integer(), nullable=False),
    sa.Column('household_id', sa.Integer(), nullable=True),
    sa.Column('period_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.Enum('award_goods', 'industry_support', name='ledger_kind', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('item', sa.String(length=60), nullable=False),
    sa.Column('value_fen', sa.BigInteger(), nullable=False),
    sa.Column('given_on', sa.Date(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.CheckConstraint("kind != 'industry_support' OR value_fen >= 200000", name=op.f('ck_award_ledger_entries_industry_support_minimum')),
    sa.CheckConstraint('value_fen > 0', name=op.f('ck_award_ledger_entries_value_positive')),
    sa.ForeignKeyConstraint(['county_id'], ['counties.id'], name=op.f('fk_award_ledger_entries_county_id_counties'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['household_id'], ['households.id'], name=op.f('fk_award_ledger_entries_household_id_households'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['period_id'], ['periods.id'], name=op.f('fk_award_ledger_entries_period_id_periods'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['township_id'], ['townships.id'], name=op.f('fk_award_ledger_entries_township_id_townships'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_award_ledger_entries'))
    )
    op.create_index(op.f('ix_award_ledger_entries_county_id'), 'award_ledger_entries', ['county_id'], unique=False)
    op.create_table('disqualifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('household_id', sa.Integer(), nullable=False),
    sa.Column('event', sa.String(length=60), nullable=False),
    sa.Column('occurred_on', sa.Date(), nullable=False),
    sa.Column('lifted_on', sa.Date(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.CheckConstraint('lifted_on IS NULL OR lifted_on >= occurred_on', name=op.f('ck_disqualifications_dates_ordered')),
    sa.ForeignKeyConstraint(['household_id'], ['households.id'], name=op.f('fk_disqualifications_household_id_households'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_disqualifications'))
    )
    op.create_index(op.f('ix_disqualifications_household_id'), 'disqualifications', ['household_id'], unique=False)
    op.create_table('objections',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('village_period_id', sa.Integer(), nullable=False),
    sa.Column('household_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('contact', sa.String(length=60), nullable=True),
    sa.Column('state', sa.Enum('pending', 'dismissed', 'upheld', name='objection_state', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('reply', sa.Text(), nullable=True),
    sa.Column('filed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_by_id', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint("state = 'pending' OR (reply IS NOT NULL AND resolved_at IS NOT NULL)", name=op.f('ck_objections_resolved_has_reply')),
    sa.CheckConstraint('length(reason) >= 1', name=op.f('ck_objections_reason_not_empty')),
    sa.ForeignKeyConstraint(['household_id'], ['households.id'], name=op.f('fk_objections_household_id_households'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['resolved_by_id'], ['users.id'], name=op.f('fk_objections_resolved_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['village_period_id'], ['village_periods.id'], name=op.f('fk_objections_village_period_id_village_periods'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_objections'))
    )
    op.create_index(op.f('ix_objections_village_period_id'), 'objections', ['village_period_id'], unique=False)
    op.create_table('plaques',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('serial', sa.String(length=32), nullable=False),
    sa.Column('household_id', sa.Integer(), nullable=False),
    sa.Column('level', sa.Enum('cleanest', 'clean', name='plaque_level', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('state', sa.Enum('valid', 'revoked', name='plaque_state', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('issued_period_id', sa.Integer(), nullable=False),
    sa.Column('revoked_period_id', sa.Integer(), nullable=True),
    sa.Column('revoke_reason', sa.Text(), nullable=True),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint("(state = 'revoked') = (revoked_period_id IS NOT NULL AND revoke_reason IS NOT NULL)", name=op.f('ck_plaques_revoked_has_reason')),
    sa.ForeignKeyConstraint(['household_id'], ['households.id'], name=op.f('fk_plaques_household_id_households'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['issued_period_id'], ['periods.id'], name=op.f('fk_plaques_issued_period_id_periods'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['revoked_period_id'], ['periods.id'], name=op.f('fk_plaques_revoked_period_id_periods'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plaques')),
    sa.UniqueConstraint('serial', name=op.f('uq_plaques_serial'))
    )
    op.create_index(op.f('ix_plaques_household_id'), 'plaques', ['household_id'], unique=False)
    op.create_index('uq_plaques_one_valid_per_household', 'plaques', ['household_id'], unique=True, sqlite_where=sa.text("state = 'valid'"), postgresql_where=sa.text("state = 'valid'"))
    op.create_table('reviews',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('period_id', sa.Integer(), nullable=False),
    sa.Column('household_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('self', 'peer', 'group', name='review_kind', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('reviewer_household_id', sa.Integer(), nullable=True),
    sa.Column('team_members', sa.String(length=200), nullable=True),
    sa.Column('entered_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('c01', sa.SmallInteger(), nullable=False),
    sa.Column('c02', sa.SmallInteger(), nullable=False),
    sa.Column('c03', sa.SmallInteger(), nullable=False),
    sa.Column('c04', sa.SmallInteger(), nullable=False),
    sa.Column('c05', sa.SmallInteger(), nullable=False),
    sa.Column('c06', sa.SmallInteger(), nullable=False),
    sa.Column('c07', sa.SmallInteger(), nullable=False),
    sa.Column('c08', sa.SmallInteger(), nullable=False),
    sa.Column('c09', sa.SmallInteger(), nullable=False),
    sa.Column('c10', sa.SmallInteger(), nullable=False),
    sa.CheckConstraint("(kind = 'peer') = (reviewer_household_id IS NOT NULL)", name=op.f('ck_reviews_peer_has_reviewer')),
    sa.CheckConstraint("kind != 'group' OR length(team_members) >= 1", name=op.f('ck_reviews_group_has_team')),
    sa.CheckConstraint('c01 >= 0 AND c01 <= 1000', name=op.f('ck_reviews_c01_range')),
    sa.CheckConstraint('c02 >= 0 AND c02 <= 1000', name=op.f('ck_reviews_c02_range')),
    sa.CheckConstraint('c03 >= 0 AND c03 <= 1000', name=op.f('ck_reviews_c03_range')),
    sa.CheckConstraint('c04 >= 0 AND c04 <= 1000', name=op.f('ck_reviews_c04_range')),
    sa.CheckConstraint('c05 >= 0 AND c05 <= 1000', name=op.f('ck_reviews_c05_range')),
    sa.CheckConstraint('c06 >= 0 AND c06 <= 1000', name=op.f('ck_reviews_c06_range')),
    sa.CheckConstraint('c07 >= 0 AND c07 <= 1000', name=op.f('ck_reviews_c07_range')),
    sa.CheckConstraint('c08 >= 0 AND c08 <= 1000', name=op.f('ck_reviews_c08_range')),
    sa.CheckConstraint('c09 >= 0 AND c09 <= 1000', name=op.f('ck_reviews_c09_range')),
    sa.CheckConstraint('c10 >= 0 AND c10 <= 1000', name=op.f('ck_reviews_c10_range')),
    sa.CheckConstraint('reviewer_household_id IS NULL OR reviewer_household_id != household_id', name=op.f('ck_reviews_not_own_peer')),
    sa.ForeignKeyConstraint(['entered_by_id'], ['users.id'], name=op.f('fk_reviews_entered_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['household_id'], ['households.id'], name=op.f('fk_reviews_household_id_households'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['period_id'], ['periods.id'], name=op.f('fk_reviews_period_id_periods'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['reviewer_household_id'], ['households.id'], name=op.f('fk_reviews_reviewer_household_id_households'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reviews'))
    )
    op.create_index('ix_reviews_period_household', 'reviews', ['period_id', 'household_id'], unique=False)
    op.create_index('uq_reviews_household_period_kind', 'reviews', ['household_id', 'period_id', 'kind'], unique=True, sqlite_where=sa.text("kind != 'peer'"), postgresql_where=sa.text("kind != 'peer'"))
    op.create_index('uq_reviews_peer_reviewer', 'reviews', ['household_id', 'period_id', 'reviewer_household_id'], unique=True, sqlite_where=sa.text("kind = 'peer'"), postgresql_where=sa.text("kind = 'peer'"))
    op.create_table('spot_checks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('assignment_id', sa.Integer(), nullable=False),
    sa.Column('household_id', sa.Integer(), nullable=False),
    sa.Column('checked_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('inspector_id', sa.Integer(), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('c01', sa.SmallInteger(), nullable=False),
    sa.Column('c02', sa.SmallInteger(), nullable=False),
    sa.Column('c03', sa.SmallInteger(), nullable=False),
    sa.Column('c04', sa.SmallInteger(), nullable=False),
    sa.Column('c05', sa.SmallInteger(), nullable=False),
    sa.Column('c06', sa.SmallInteger(), nullable=False),
    sa.Column('c07', sa.SmallInteger(), nullable=False),
    sa.Column('c08', sa.SmallInteger(), nullable=False),
    sa.Column('c09', sa.SmallInteger(), nullable=False),
    sa.Column('c10', sa.SmallInteger(), nullable=False),
    sa.CheckConstraint('c01 >= 0 AND c01 <= 1000', name=op.f('ck_spot_checks_c01_range')),
    sa.CheckConstraint('c02 >= 0 AND c02 <= 1000', name=op.f('ck_spot_checks_c02_range')),
    sa.CheckConstraint('c03 >= 0 AND c03 <= 1000', name=op.f('ck_spot_checks_c03_range')),
    sa.CheckConstraint('c04 >= 0 AND c04 <= 1000', name=op.f('ck_spot_checks_c04_range')),
    sa.CheckConstraint('c05 >= 0 AND c05 <= 1000', name=op.f('ck_spot_checks_c05_range')),
    sa.CheckConstraint('c06 >= 0 AND c06 <= 1000', name=op.f('ck_spot_checks_c06_range')),
    sa.CheckConstraint('c07 >= 0 AND c07 <= 1000', name=op.f('ck_spot_checks_c07_range')),
    sa.CheckConstraint('c08 >= 0 AND c08 <= 1000', name=op.f('ck_spot_checks_c08_range')),
    sa.CheckConstraint('c09 >= 0 AND c09 <= 1000', name=op.f('ck_spot_checks_c09_range')),
    sa.CheckConstraint('c10 >= 0 AND c10 <= 1000', name=op.f('ck_spot_checks_c10_range')),
    sa.ForeignKeyConstraint(['assignment_id'], ['inspection_assignments.id'], name=op.f('fk_spot_checks_assignment_id_inspection_assignments'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['household_id'], ['households.id'], name=op.f('fk_spot_checks_household_id_households'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['inspector_id'], ['users.id'], name=op.f('fk_spot_checks_inspector_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_spot_checks')),
    sa.UniqueConstraint('assignment_id', 'household_id', name=op.f('uq_spot_checks_assignment_id_household_id'))
    )
    op.create_index(op.f('ix_spot_checks_household_id'), 'spot_checks', ['household_id'], unique=False)
    op.create_table('household_stars',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('household_id', sa.Integer(), nullable=False),
    sa.Column('star_id', sa.Integer(), nullable=False),
    sa.Column('granted_on', sa.Date(), nullable=False),
    sa.Column('grant_reason', sa.Text(), nullable=False),
    sa.Column('withdrawn_on', sa.Date(), nullable=True),
    sa.Column('withdraw_reason', sa.Text(), nullable=True),
    sa.Column('plaque_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('withdrawn_on IS NULL OR withdraw_reason IS NOT NULL', name=op.f('ck_household_stars_withdrawn_has_reason')),
    sa.CheckConstraint('withdrawn_on IS NULL OR withdrawn_on >= granted_on', name=op.f('ck_household_stars_dates_ordered')),
    sa.ForeignKeyConstraint(['household_id'], ['households.id'], name=op.f('fk_household_stars_household_id_households'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['plaque_id'], ['plaques.id'], name=op.f('fk_household_stars_plaque_id_plaques'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['star_id'], ['stars.id'], name=op.f('fk_household_stars_star_id_stars'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_household_stars'))
    )
    op.create_index(op.f('ix_household_stars_household_id'), 'household_stars', ['household_id'], unique=False)
    op.create_index('uq_household_stars_active', 'household_stars', ['household_id', 'star_id'], unique=True, sqlite_where=sa.text('withdrawn_on IS NULL'), postgresql_where=sa.text('withdrawn_on IS NULL'))
    op.create_table('notices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('county_id', sa.Integer(), nullable=False),
    sa.Column('period_id', sa.Integer(), nullable=False),
    sa.Column('township_id', sa.Integer(), nullable=False),
    sa.Column('village_id', sa.Integer(), nullable=True),
    sa.Column('spot_check_id', sa.Integer(), nullable=True),
    sa.Column('escalated_from_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.Enum('rectification', 'accountability', name='notice_kind', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('state', sa.Enum('open', 'rectified', 'escalated', 'closed', name='notice_state', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('problem', sa.Text(), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('deadline', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolution', sa.Text(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint("kind = 'rectification' OR escalated_from_id IS NOT NULL", name=op.f('ck_notices_accountability_has_origin')),
    sa.CheckConstraint('deadline > issued_at', name=op.f('ck_notices_deadline_after_issue')),
    sa.ForeignKeyConstraint(['county_id'], ['counties.id'], name=op.f('fk_notices_county_id_counties'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['escalated_from_id'], ['notices.id'], name=op.f('fk_notices_escalated_from_id_notices'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['period_id'], ['periods.id'], name=op.f('fk_notices_period_id_periods'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['spot_check_id'], ['spot_checks.id'], name=op.f('fk_notices_spot_check_id_spot_checks'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['township_id'], ['townships.id'], name=op.f('fk_notices_township_id_townships'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['village_id'], ['villages.id'], name=op.f('fk_notices_village_id_villages'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notices'))
    )
    op.create_index(op.f('ix_notices_county_id'), 'notices', ['county_id'], unique=False)
    op.create_table('plaque_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plaque_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('issued', 'upgraded', 'downgraded', 'revoked', name='plaque_event_kind', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('period_id', sa.Integer(), nullable=True),
    sa.Column('from_level', sa.Enum('cleanest', 'clean', name='plaque_event_from_level', native_enum=False, create_constraint=True, length=24), nullable=True),
    sa.Column('to_level', sa.Enum('cleanest', 'clean', name='plaque_event_to_level', native_enum=False, create_constraint=True, length=24), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['period_id'], ['periods.id'], name=op.f('fk_plaque_events_period_id_periods'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['plaque_id'], ['plaques.id'], name=op.f('fk_plaque_events_plaque_id_plaques'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plaque_events'))
    )
    op.create_index(op.f('ix_plaque_events_plaque_id'), 'plaque_events', ['plaque_id'], unique=False)
    _create_audit_guard()


def downgrade() -> None:
    _drop_audit_guard()
    op.drop_table('plaque_events')
    op.drop_table('notices')
    op.drop_table('household_stars')
    op.drop_table('spot_checks')
    op.drop_table('reviews')
    op.drop_table('plaques')
    op.drop_table('objections')
    op.drop_table('disqualifications')
    op.drop_table('award_ledger_entries')
    op.drop_table('village_assessments')
    op.drop_table('households')
    op.drop_table('award_quotas')
    op.drop_table('audit_log')
    op.drop_table('village_periods')
    op.drop_table('users')
    op.drop_table('inspection_assignments')
    op.drop_table('groups')
    op.drop_table('villages')
    op.drop_table('rubric_criteria')
    op.drop_table('periods')
    op.drop_table('townships')
    op.drop_table('stars')
    op.drop_table('rubric_versions')
    op.drop_table('rollout_plan_years')
    op.drop_table('inspection_teams')
    op.drop_table('county_budgets')
    op.drop_table('login_attempts')
    op.drop_table('counties')
