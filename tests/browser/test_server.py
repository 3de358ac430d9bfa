"""What `hygiene serve` tells a client about itself (issue 15: the development server announced
"Werkzeug/3.1 Python/3.11")."""

from __future__ import annotations

import urllib.request


def test_the_development_server_does_not_announce_its_version(live_server: str) -> None:
    with urllib.request.urlopen(f"{live_server}/") as response:  # noqa: S310  (loopback)
        server = response.headers.get("Server", "")
    assert server == "hygiene" and "Werkzeug" not in server and "Python" not in server
