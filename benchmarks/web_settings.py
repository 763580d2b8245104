"""Settings of ``benchmarks/web.py``'s server: the application's settings unchanged (DEBUG as
the environment says, the production middleware, database and storage), and the URL
configuration with the bare reference view (benchmarks/web_urls.py)."""

from combat_norse.config.settings import *  # noqa: F403

ROOT_URLCONF = "web_urls"
