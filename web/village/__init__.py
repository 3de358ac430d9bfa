"""The village clerks' pages; ``paper`` adds its PDF downloads to the same blueprint."""

from web.village import (
    notices,  # noqa: F401
    paper,  # noqa: F401
    stars,  # noqa: F401
)
