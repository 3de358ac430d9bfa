"""The inspectors' area; each module below adds its pages to the blueprint of ``views``."""

from web.inspection import (
    notices,  # noqa: F401
    ranking,  # noqa: F401
    sample,  # noqa: F401
    spot_checks,  # noqa: F401
    visits,  # noqa: F401
    yearly,  # noqa: F401
)
