"""System checks of the data-capture app.

- combat_norse.E301: a form version that has been used (sealed with its fingerprint when its
  first instance was saved) was changed since; declare a new version instead.
"""

from __future__ import annotations

from typing import Any

from django.core.checks import Error, Tags, register
from django.db import DatabaseError


@register(Tags.database)
def check_used_form_versions_unchanged(
    app_configs: Any = None, databases: Any = None, **kwargs: Any
) -> list[Error]:
    """A database check: runs with ``manage.py check --database default`` and before
    ``migrate``, never without a database."""
    from combat_norse.crf.catalog import FORMS
    from combat_norse.crf.models import FormVersionSeal

    if not databases:
        return []
    declared = {(f.code, f.version): f.fingerprint() for f in FORMS}
    try:
        seals = list(FormVersionSeal.unscoped.values_list("form", "version", "fingerprint"))
    except DatabaseError:  # not migrated yet: nothing has been used
        return []
    errors = []
    for code, version, fingerprint in seals:
        now = declared.get((code, version))
        if now is None:
            errors.append(Error(f"form {code} version {version} was used and is no longer "
                                "declared", hint="keep used versions in crf/catalog.py",
                                id="combat_norse.E301"))  # fmt: skip
        elif now != fingerprint:
            errors.append(Error(f"form {code} version {version} was used and has changed",
                                hint="declare the change as a new version of the form",
                                id="combat_norse.E301"))  # fmt: skip
    return errors
