"""The scoring engine of 三定三评: pure functions from a period's tables to its results.

No Flask, no database, no clock, no files (except the command line in `scoring.__main__`).
Rules: shared/spec/RULES.md §2-4, §7, §9; formats: INTERCHANGE.md §1.
"""

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

# Each public name's module: a name is imported when first used (PEP 562), so that importing
# `scoring.vocabulary` (the labels `hygiene.enums` reads) does not import pandas, numpy and pyarrow.
_HOMES: dict[str, str] = {
    "ceil_ratio": "scoring.arith",
    "div_half_up": "scoring.arith",
    "format_tenths": "scoring.arith",
    "score_column": "scoring.arith",
    "tenths_of": "scoring.arith",
    "AWARDS": "scoring.engine",
    "FLAGS": "scoring.engine",
    "HOUSEHOLD_RESULT_COLUMNS": "scoring.engine",
    "HOUSEHOLD_RESULT_SCHEMA": "scoring.engine",
    "VILLAGE_RESULT_COLUMNS": "scoring.engine",
    "VILLAGE_RESULT_SCHEMA": "scoring.engine",
    "grade_of": "scoring.engine",
    "peer_criterion_means": "scoring.engine",
    "ratio_floors": "scoring.engine",
    "score_period": "scoring.engine",
    "score_tables": "scoring.engine",
    "to_frame": "scoring.engine",
    "add_periods": "scoring.periods",
    "is_period": "scoring.periods",
    "parse_period": "scoring.periods",
    "first_period_after": "scoring.periods",
    "period_kind": "scoring.periods",
    "period_index": "scoring.periods",
    "period_year": "scoring.periods",
    "periods_between": "scoring.periods",
    "PLAQUE_ACTIONS": "scoring.plaques",
    "plaque_changes": "scoring.plaques",
    "plaque_serial": "scoring.plaques",
    "InvalidInput": "scoring.problems",
    "Problem": "scoring.problems",
    "CRITERIA": "scoring.rubric",
    "GRADE_LABELS": "scoring.rubric",
    "GRADES": "scoring.rubric",
    "Criterion": "scoring.rubric",
    "Rubric": "scoring.rubric",
    "Settings": "scoring.rubric",
    "TownshipWeights": "scoring.townships",
    "spot_check_agreement": "scoring.townships",
    "township_scores": "scoring.townships",
    "KIND_NAMES": "scoring.validate",
    "KINDS": "scoring.validate",
    "peer_reviewer_problem": "scoring.validate",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'scoring' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


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
