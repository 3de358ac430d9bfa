"""The scoring engine of 三定三评: pure functions from a period's tables to its results.

No Flask, no database, no clock, no files (except the command line in `scoring.__main__`).
Rules: shared/spec/RULES.md §2-4, §7, §9; formats: INTERCHANGE.md §1.
"""

from scoring.arith import ceil_ratio, div_half_up, format_tenths, tenths_of
from scoring.engine import (
    AWARDS,
    FLAGS,
    HOUSEHOLD_RESULT_COLUMNS,
    VILLAGE_RESULT_COLUMNS,
    grade_of,
    peer_criterion_means,
    ratio_floors,
    score_period,
    score_tables,
)
from scoring.periods import add_periods, is_period, parse_period, period_index, period_year, periods_between
from scoring.plaques import PLAQUE_ACTIONS, plaque_changes, plaque_serial
from scoring.problems import InvalidInput, Problem
from scoring.rubric import CRITERIA, GRADE_LABELS, GRADES, Criterion, Rubric, Settings
from scoring.townships import TownshipWeights, spot_check_agreement, township_scores

__all__ = [
    "AWARDS",
    "CRITERIA",
    "FLAGS",
    "GRADES",
    "GRADE_LABELS",
    "HOUSEHOLD_RESULT_COLUMNS",
    "PLAQUE_ACTIONS",
    "VILLAGE_RESULT_COLUMNS",
    "Criterion",
    "InvalidInput",
    "Problem",
    "Rubric",
    "Settings",
    "TownshipWeights",
    "add_periods",
    "ceil_ratio",
    "div_half_up",
    "format_tenths",
    "grade_of",
    "is_period",
    "parse_period",
    "peer_criterion_means",
    "period_index",
    "period_year",
    "periods_between",
    "plaque_changes",
    "plaque_serial",
    "ratio_floors",
    "score_period",
    "score_tables",
    "spot_check_agreement",
    "tenths_of",
    "township_scores",
]
