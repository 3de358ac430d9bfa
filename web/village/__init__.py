"""The village clerks' pages; ``paper`` adds its PDF downloads and ``reviews`` its review entry
screens to the same blueprint."""

from web.village import (
    household_moves,  # noqa: F401
    notices,  # noqa: F401
    paper,  # noqa: F401
    reviews,  # noqa: F401
    stars,  # noqa: F401
)
