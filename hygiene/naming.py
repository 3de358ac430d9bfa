"""What a household code, a name and a phone number may be: one rule each, applied alike by the
forms, every import and the command (INTERCHANGE.md §2.1).

- A household code is 1-24 of ``0-9 A-Z a-z -``: it stands in URLs and file names, so ``/``, ``..``,
  ``=`` or ``<`` never reach a path, a page or a spreadsheet (the outside probe's ``INJ/../007``).
- A name is kept as written (NFC, rare characters included) with its ends trimmed, but a control
  or invisible character inside it is refused: a right-to-left override (U+202E) or a zero-width
  space (U+200B) would let a name look like another one on a public list.
- A phone number is 5-20 of digits, ``+``, ``-`` and spaces (full-width digits read as digits).
"""

from __future__ import annotations

import re
import unicodedata

import sqlalchemy as sa

HOUSEHOLD_CODE = re.compile(r"[0-9A-Za-z-]{1,24}", re.ASCII)
HOUSEHOLD_CODE_RULE = "户编号只能包含数字、字母和 -，最长24位"
PHONE_RULE = "电话号码格式不正确：手机号11位（如 13812345678），座机带区号（如 0851-12345678）"
PHONE = re.compile(r"(?:\+?86[- ]?)?1[3-9][0-9]{9}|0[1-9][0-9]{1,2}[- ]?[0-9]{7,8}(?:-[0-9]{1,6})?", re.ASCII)

_INVISIBLE_NAMES = {
    "\t": "制表符",
    "\n": "换行符",
    "\r": "回车符",
    "\u00ad": "软连字符",
    "\u200b": "零宽空格",
    "\u200c": "零宽非连接符",
    "\u200d": "零宽连接符",
    "\u202e": "从右到左覆盖符",
    "\u2028": "行分隔符",
    "\u2029": "段分隔符",
    "\u2060": "零宽不换行符",
    "\ufeff": "零宽不换行空格（BOM）",
}


def clean(text: str) -> str:
    """Text as stored: the ends trimmed of every Unicode space, then NFC."""
    return unicodedata.normalize("NFC", text.strip())


def is_invisible(ch: str) -> bool:
    return unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp")


def visible(text: str, limit: int = 60) -> str:
    """``text`` for a message: invisible characters shown as ``\\u200b``, long text cut short."""
    shown = "".join(f"\\u{ord(ch):04x}" if is_invisible(ch) else ch for ch in text)
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


def invisible_problem(text: str) -> str | None:
    """Why ``text`` holds a control or invisible character, naming the first one; None if it holds none."""
    if text.isprintable():  # no Cc, Cf, Zl or Zp in it (C-speed, for a county's 198,500 rows)
        return None
    for ch in text:
        if is_invisible(ch):
            name = _INVISIBLE_NAMES.get(ch, "控制字符" if unicodedata.category(ch) == "Cc" else "不可见字符")
            return f"含有{name}（U+{ord(ch):04X}），请删除"
    return None


def household_code_problem(code: str) -> str | None:
    return None if HOUSEHOLD_CODE.fullmatch(code) else HOUSEHOLD_CODE_RULE


def name_problem(name: str, longest: int, what: str = "姓名") -> str | None:
    """Why a (cleaned) name cannot be stored: blank, longer than the column, or with an invisible character."""
    if not name:
        return f"请填写{what}"
    if len(name) > longest:
        return f"{what}超过{longest}个字"
    return invisible_problem(name)


_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_NUMBER = re.compile(r"[0-9]+|[零〇一二两三四五六七八九十百]+")


def _chinese_number(text: str) -> int:
    """一 1, 十 10, 十二 12, 二十 20, 二十三 23, 一百零五 105 (the numbers villager groups carry)."""
    total, current = 0, 0
    for ch in text:
        if ch in _DIGITS:
            current = _DIGITS[ch]
        elif ch == "十":
            total += (current or 1) * 10
            current = 0
        elif ch == "百":
            total += (current or 1) * 100
            current = 0
    return total + current


def natural_key(name: str) -> tuple[object, ...]:
    """Sort key putting 第二组 before 第十组 and 2组 before 10组 (issue 30: 一组, 三组, 二组 was text
    order): each run of digits or Chinese numerals compares as its number."""
    key: list[object] = []
    position = 0
    for match in _NUMBER.finditer(name):
        key += [name[position : match.start()], 0]
        number = match.group()
        key[-1] = int(number) if number.isdigit() else _chinese_number(number)
        position = match.end()
    key.append(name[position:])
    return tuple(key)


def phone_problem(phone: str) -> str | None:
    """A mainland mobile number (11 digits from 1, optionally after +86) or a landline with its area
    code (0 and 2-3 digits, then 7-8 digits; 区号 and number may be split by - or a space, and an
    extension may follow -); "12345" is none of these (issue 30)."""
    text = unicodedata.normalize("NFKC", phone).strip()
    return None if text.isascii() and PHONE.fullmatch(text) else PHONE_RULE


def text_field(
    value: str | None, label: str, longest: int, *, required: bool = True, multiline: bool = False
) -> tuple[str, str | None]:
    """A free-text field (a note, a reason, a list of members) as stored, line breaks as ``\\n`` and
    ends trimmed, and why it is refused, or None: empty when ``required``, longer than ``longest``,
    or holding an invisible character (a line break only where ``multiline``)."""
    cleaned = clean((value or "").replace("\r\n", "\n").replace("\r", "\n"))
    if not cleaned:
        return cleaned, f"请填写{label}" if required else None
    if len(cleaned) > longest:
        return cleaned, f"{label}不能超过{longest}个字（现有{len(cleaned)}个字）"
    problem = invisible_problem(cleaned.replace("\n", "") if multiline else cleaned)
    return cleaned, f"{label}{problem}" if problem else None


def column_length(column: sa.orm.InstrumentedAttribute[object]) -> int:
    """The most characters the database holds in ``column``: the model is the one place that says."""
    length = column.property.columns[0].type.length
    assert isinstance(length, int)
    return length


def too_long(text: str, column: sa.orm.InstrumentedAttribute[object]) -> str | None:
    """Why ``text`` does not fit ``column``, or None."""
    longest = column_length(column)
    return f"超过{longest}个字" if len(text) > longest else None
