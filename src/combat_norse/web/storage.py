"""The static-files storage of production (settings.STORAGES): whitenoise's compressed,
hashed-name storage, tolerant of a file that is not there:

- the vendored USWDS stylesheet names images that this project does not ship (the hero
  picture, most of the icon set: see static/uswds/README.md); Django's manifest storage would
  stop ``collectstatic`` on the first of them;
- a server started before ``collectstatic`` ran (or a page naming a file collected since)
  would answer every page with a 500 ("Missing staticfiles manifest entry").

A name with no collected file is left as written (that file answers 404 until it is
collected; the page itself renders); every collected file gets its hashed name as usual."""

from __future__ import annotations

from typing import Any

from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticStorage(CompressedManifestStaticFilesStorage):  # type: ignore[misc]  # untyped
    manifest_strict = False  # not in the manifest: hashed_name below, not a ValueError

    def hashed_name(self, name: str, content: Any = None, filename: str | None = None) -> str:
        if content is None and not self.exists(self.clean_name(name.split("?")[0]
                                                                .split("#")[0])):  # fmt: skip
            return name
        return str(super().hashed_name(name, content, filename))
