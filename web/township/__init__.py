"""The township reviewers' pages; ``notices`` adds the notices addressed to the township to the same blueprint."""

from web.township import (
    awards,  # noqa: F401
    notices,  # noqa: F401
)
