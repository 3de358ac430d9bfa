"""The scoring engine of 三定三评: pure functions from a period's tables to its results.

No Flask, no database, no clock, no files (except the command line in `scoring.__main__`).
Rules: shared/spec/RULES.md §2-4, §7, §9; formats: INTERCHANGE.md §1.
"""

from scoring.arith import ceil_ratio, div_half_up, format_tenths, score_column, tenths_of
from scoring.engine import (
    AWARDS,
    FLAGS,
    HOUSEHOLD_RESULT_COLUMNS,
    HOUSEHOLD_RESULT_SCHEMA,
    VILLAGE_RESULT_COLUMNS,
    VILLAGE_RESULT_SCHEMA,
    grade_of,
    peer_criterion_means,
    ratio_floors,
    score_period,
    score_tables,
    to_frame,
)
from scoring.periods import (
    add_periods,
    first_period_after,
    is_period,
    parse_period,
    period_index,
    period_kind,
    period_year,
    periods_between,
)
from scoring.plaques import PLAQUE_ACTIONS, plaque_changes, plaque_serial
from scoring.problems import InvalidInput, Problem
from scoring.rubric import CRITERIA, GRADE_LABELS, GRADES, Criterion, Rubric, Settings
from scoring.townships import TownshipWeights, spot_check_agreement, township_scores
from scoring.validate import KIND_NAMES, KINDS, peer_reviewer_problem

__all__ = [
    "AWARDS",
    "CRITERIA",
    "FLAGS",
    "GRADES",
    "GRADE_LABELS",
    "HOUSEHOLD_RESULT_COLUMNS",
    "HOUSEHOLD_RESULT_SCHEMA",
    "KINDS",
    "KIND_NAMES",
    "PLAQUE_ACTIONS",
    "VILLAGE_RESULT_COLUMNS",
    "VILLAGE_RESULT_SCHEMA",
    "Criterion",
    "InvalidInput",
    "Problem",
    "Rubric",
    "Settings",
    "TownshipWeights",
    "add_periods",
    "ceil_ratio",
    "div_half_up",
    "first_period_after",
    "format_tenths",
    "grade_of",
    "is_period",
    "parse_period",
    "peer_criterion_means",
    "peer_reviewer_problem",
    "period_index",
    "period_kind",
    "period_year",
    "periods_between",
    "plaque_changes",
    "plaque_serial",
    "ratio_floors",
    "score_column",
    "score_period",
    "score_tables",
    "spot_check_agreement",
    "tenths_of",
    "to_frame",
    "township_scores",
]
