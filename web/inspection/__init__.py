"""The inspectors' area; each module below adds its pages to the blueprint of ``views``."""

from web.inspection import sample  # noqa: F401
