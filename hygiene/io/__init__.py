"""Files in and out: reading uploaded sheets (`sheets`), the strict score parser (`scores`) and safe
CSV/Excel downloads (`exports`). PDF lives beside them."""

from hygiene.io.exports import csv_bytes, review_template_xlsx, xlsx_bytes
from hygiene.io.scores import parse_score
from hygiene.io.sheets import (
    Column,
    Problem,
    SheetRow,
    UploadRejected,
    UploadTable,
    read_upload,
    review_columns,
    roster_columns,
)

__all__ = [
    "Column",
    "Problem",
    "SheetRow",
    "UploadRejected",
    "UploadTable",
    "csv_bytes",
    "parse_score",
    "read_upload",
    "review_columns",
    "review_template_xlsx",
    "roster_columns",
    "xlsx_bytes",
]
