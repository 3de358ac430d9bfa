from web.county import (
    awards,  # noqa: F401
    dashboard,  # noqa: F401
    inspection_teams,  # noqa: F401
)
