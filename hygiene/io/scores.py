"""The strict parsers of numbers people type, for uploaded sheets and web forms alike: scores
(INTERCHANGE.md §2.1) and whole numbers such as household members and award quotas.

Why not ``int()`` or ``float()``: they accept ``'٩٠'`` (other scripts' digits), ``'9_0'``, ``'1e2'``,
``'nan'`` and ``'inf'`` (RELIABILITY.md trap 3), and a blank read as 0 would silently score a
household. Here a score is, after NFKC (so a full-width ``９０`` typed with a Chinese input method
reads as ``90``) and trimming the ends, exactly ``[0-9]{1,3}(\\.[0-9])?`` in ASCII digits, within
0…the criterion's maximum; the result is in integer tenths of a point, as the database stores it.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal

# ASCII only: `\d` would also match Arabic-Indic and other digits, and `$` would allow a final "\n".
_SCORE = re.compile(r"[0-9]{1,3}(?:\.[0-9])?")
_TOO_PRECISE = re.compile(r"[0-9]{1,3}\.[0-9]{2,}")  # 9.55: a clear reason, not "not a score"


def format_points(tenths: int) -> str:
    """Tenths of a point as the points people write: 100 -> "10", 95 -> "9.5"."""
    points, rest = divmod(tenths, 10)
    return f"{points}.{rest}" if rest else str(points)


def points_number(tenths: int | None) -> Decimal | None:
    """A score in tenths as the number a spreadsheet stores (85.3, 90.0): exact, never a float's
    85.29999, and written to .xlsx as a number, not as text (issue 30)."""
    return None if tenths is None else Decimal(tenths).scaleb(-1)


def parse_score(text: str, max_points_tenths: int) -> int:
    """A score typed by a person, as integer tenths of a point (``"9.5"`` -> ``95``).

    Raises ``ValueError`` whose message is the Chinese reason to show: a blank is never 0, and
    units, Chinese numerals, other scripts' digits, exponents, ``nan``, booleans, signs, two
    decimals or a value above ``max_points_tenths`` are all refused.
    """
    normalised = unicodedata.normalize("NFKC", text).strip()
    if not normalised:
        raise ValueError("分数未填（空白不按0分计）")
    if not (normalised.isascii() and _SCORE.fullmatch(normalised)):
        if normalised.isascii() and _TOO_PRECISE.fullmatch(normalised):
            raise ValueError(f"最多一位小数（如 9.5），0–{format_points(max_points_tenths)}分")
        raise ValueError(f"不是0–{format_points(max_points_tenths)}之间的分数")
    whole, _, decimal = normalised.partition(".")
    tenths = int(whole) * 10 + int(decimal or "0")
    if tenths > max_points_tenths:
        raise ValueError(f"不是0–{format_points(max_points_tenths)}之间的分数")
    return tenths


def parse_whole_number(text: str, minimum: int, maximum: int) -> int:
    """A whole number typed by a person (household members, award quotas), as strict as a score:
    after NFKC (full-width ``１２`` is ``12``) ASCII digits only, within ``minimum``…``maximum``.
    ``int()`` would also take ``'٩٠'``, ``'9_0'`` and ``'+9'`` (RELIABILITY.md trap 3)."""
    normalised = unicodedata.normalize("NFKC", text).strip()
    if not (normalised.isascii() and normalised.isdigit() and len(normalised) <= 9):
        raise ValueError(f"不是{minimum}–{maximum}之间的整数")
    value = int(normalised)
    if not minimum <= value <= maximum:
        raise ValueError(f"不是{minimum}–{maximum}之间的整数")
    return value


_YUAN = re.compile(r"[0-9]{1,12}(?:\.[0-9]{1,2})?")


def parse_yuan(text: str, maximum_yuan: int) -> int:
    """An amount of money typed in yuan (``"27000000"``, ``"2000.50"``, thousands commas allowed)
    as integer fen; as strict as a score: ASCII digits after NFKC, at most two decimals."""
    normalised = unicodedata.normalize("NFKC", text).strip().replace(",", "")
    if not (normalised.isascii() and _YUAN.fullmatch(normalised)):
        raise ValueError(f"不是0–{maximum_yuan}元之间的金额（最多两位小数）")
    whole, _, decimal = normalised.partition(".")
    fen = int(whole) * 100 + int((decimal + "00")[:2])
    if fen > maximum_yuan * 100:
        raise ValueError(f"不是0–{maximum_yuan}元之间的金额（最多两位小数）")
    return fen


def format_yuan(fen: int) -> str:
    """Fen as yuan people write: 2700000000 -> "27000000", 200050 -> "2000.50"."""
    yuan, rest = divmod(fen, 100)
    return f"{yuan}.{rest:02d}" if rest else str(yuan)
