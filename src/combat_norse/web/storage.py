"""The static-files storage of production (settings.STORAGES): whitenoise's compressed,
hashed-name storage, tolerant of one thing only. The vendored USWDS stylesheet names images
that this project does not ship (the hero picture, most of the icon set: see
static/uswds/README.md); Django's manifest storage would stop ``collectstatic`` on the first
of them. A reference to a file that does not exist is left as written (it answers 404, as it
did before collectstatic); every file that exists gets its hashed name as usual."""

from __future__ import annotations

from typing import Any

from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticStorage(CompressedManifestStaticFilesStorage):  # type: ignore[misc]  # untyped
    def hashed_name(self, name: str, content: Any = None, filename: str | None = None) -> str:
        if content is None and not self.exists(self.clean_name(name.split("?")[0]
                                                                .split("#")[0])):  # fmt: skip
            return name
        return str(super().hashed_name(name, content, filename))
