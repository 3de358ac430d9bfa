"""What residents see without logging in; ``verify`` adds the plaque verification page,
``objections`` the residents' objection form."""

from web.public import objections, verify  # noqa: F401
