from web.county import (
    accountability,  # noqa: F401
    awards,  # noqa: F401
    dashboard,  # noqa: F401
    inspection_teams,  # noqa: F401
    sign_offs,  # noqa: F401
    team_oversight,  # noqa: F401
)
