"""The village clerks' pages; ``paper`` adds its PDF downloads to the same blueprint."""

from web.village import paper  # noqa: F401
