"""The method's closed vocabularies, with the English names of the glossary as values and the
Chinese that users see as ``label``. Templates and exports take labels from here, never retype them.
"""

from __future__ import annotations

import enum

from scoring import vocabulary as _vocabulary


class LabelledEnum(enum.StrEnum):
    label: str

    def __new__(cls, value: str, label: str = "") -> LabelledEnum:
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label
        return member


class Role(LabelledEnum):
    COUNTY_ADMIN = "county_admin", "县管理员"
    TOWNSHIP_REVIEWER = "township_reviewer", "乡镇审核员"
    VILLAGE_CLERK = "village_clerk", "村委会"
    INSPECTOR = "inspector", "督查员"


class Level(LabelledEnum):
    """The level of supervision that inspects (RULES.md §9: city, county, township), each the level
    below it; stored as its value in a VARCHAR column with a CHECK (``level``)."""

    CITY = "city", "市级"
    COUNTY = "county", "县级"
    TOWNSHIP = "township", "乡镇级"


class ReviewKind(LabelledEnum):
    SELF = "self", "农户自评"
    PEER = "peer", "群众互评"
    GROUP = "group", "小组复评"


_GRADE = _vocabulary.GRADE_LABELS  # the engine's, the one definition (its plaque reasons use them too)


class Grade(LabelledEnum):
    CLEANEST = "cleanest", _GRADE["cleanest"]
    CLEAN = "clean", _GRADE["clean"]
    FAIRLY_CLEAN = "fairly_clean", _GRADE["fairly_clean"]
    NOT_CLEAN = "not_clean", _GRADE["not_clean"]


class AwardLevel(LabelledEnum):
    """What a household can be awarded, and so the level of a plaque."""

    CLEANEST = "cleanest", _GRADE["cleanest"]
    CLEAN = "clean", _GRADE["clean"]


class WorkflowState(LabelledEnum):
    DRAFT = "draft", "填报中"
    SUBMITTED = "submitted", "已提交"
    RETURNED = "returned", "已退回"
    APPROVED = "approved", "已审核"
    PUBLISHED = "published", "公示中"
    FINAL = "final", "已定档"


# RULES.md §5: reviews are editable only in draft and returned.
EDITABLE_STATES = (WorkflowState.DRAFT, WorkflowState.RETURNED)


class PlaqueState(LabelledEnum):
    VALID = "valid", "有效"
    REVOKED = "revoked", "已摘牌"
    VOIDED = "voided", "已作废"  # issued by a finalisation that a correction (更正) undid


class PlaqueEventKind(LabelledEnum):
    ISSUED = "issued", "挂牌"
    UPGRADED = "upgraded", "升级"
    DOWNGRADED = "downgraded", "降级"
    REVOKED = "revoked", "摘牌"
    REINSTATED = "reinstated", "恢复"
    VOIDED = "voided", "作废"


class ObjectionState(LabelledEnum):
    PENDING = "pending", "待处理"
    DISMISSED = "dismissed", "不予采纳"
    UPHELD = "upheld", "已采纳"


class NoticeKind(LabelledEnum):
    RECTIFICATION = "rectification", "督办通知单"
    ACCOUNTABILITY = "accountability", "问责通知单"


class NoticeState(LabelledEnum):
    OPEN = "open", "待整改"
    RECTIFIED = "rectified", "已整改"
    ESCALATED = "escalated", "已升级问责"
    CLOSED = "closed", "已销号"


class AccountabilityRung(LabelledEnum):
    """The accountability ladder (RULES.md §9), lowest first."""

    STATEMENT = "statement", "表态"
    TALK = "talk", "约谈"
    WARNING = "warning", "警示"
    REMOVAL = "removal", "免职"


class CaseState(LabelledEnum):
    PROPOSED = "proposed", "待县里决定"
    DECIDED = "decided", "已决定"
    DISMISSED = "dismissed", "不予问责"


class CadrePost(LabelledEnum):
    """Who answers for a unit (RULES.md §9): the village's 包保 cadre, the township's 分管 leader."""

    LIAISON = "liaison", "包保干部"
    IN_CHARGE = "in_charge", "分管领导"


class NoticeSource(LabelledEnum):
    """Where a notice came from (RULES.md §9, §6)."""

    MANUAL = "manual", "督查组下发"
    BLACK_LIST = "black_list", "黑榜户整改"
    SPOT_CHECK = "spot_check", "督查抽查"


class LedgerKind(LabelledEnum):
    AWARD_GOODS = "award_goods", "奖励物资"
    INDUSTRY_SUPPORT = "industry_support", "产业扶持"


class AssessmentArea(LabelledEnum):
    """The four areas of the village assessment (RULES.md §9)."""

    HYGIENE_MANAGEMENT = "hygiene_management", "卫生管理"
    PUBLIC_PLACES = "public_places", "公共场所"
    COURTYARDS_INDOORS = "courtyards_indoors", "庭院及室内"
    PERSONAL_HYGIENE = "personal_hygiene", "村民个人卫生"


CRITERIA: tuple[str, ...] = _vocabulary.CRITERIA
# The words a review sheet may use for a review's kind (自评, self, ...), the engine's own list.
REVIEW_KIND_WORDS: tuple[str, ...] = tuple(_vocabulary.KIND_NAMES)

# The rubric's default lines come from the engine, the one place the rules live (RULES.md §2).
# Maxima here are in tenths of a point (100 = 10 points), as the database stores them.
DEFAULT_CRITERIA: tuple[tuple[str, str, int], ...] = tuple(
    (code, label, _vocabulary.DEFAULT_MAX_POINTS * 10)
    for code, label in zip(_vocabulary.CRITERIA, _vocabulary.DEFAULT_LABELS, strict=True)
)
