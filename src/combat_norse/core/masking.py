"""Arm-revealing data: the mark on models and form items, and the redaction every output applies.

A form's items are tagged the same way (``ArmRevealing(fields={"drug"})`` over item codes, or
``record=True`` for a wholly arm-revealing form such as ``dose``), and presenters call
:meth:`ArmRevealing.apply` on the item values.

A trial-data model declares what in it reveals the randomized arm::

    class Allocation(models.Model):
        arm_revealing = ArmRevealing(record=True)                # the whole record
    class DoseRecord(models.Model):
        arm_revealing = ArmRevealing(fields={"drug"})          # some fields
    class AdverseEvent(models.Model):
        arm_revealing = ArmRevealing(text_fields={"description"})  # when the text names a drug
    class Visit(models.Model):
        arm_revealing = NOT_ARM_REVEALING                      # nothing (an explicit choice)

A system check (``combat_norse.E001``) fails start-up when a model of a trial-data app has no
declaration, so a new model cannot be forgotten. Output code (pages, API, exports, e-mails)
calls :func:`redact_values` or :func:`readable_records` with the reader's masking status.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

MASKED = "[masked]"

# Brand and generic names (case-insensitive) that reveal the arm in free text, not inside a
# longer word: a letter may not touch them, but a digit or an underscore may ("anakinra100mg",
# "stopped_anakinra": ``\b`` counts both as word characters and missed them).
# Also the clinical shorthand (TCZ, toci, toci-), the names in the scripts of the trial's
# countries and neighbours (Korean, Japanese, Chinese, Cyrillic: these have no word boundaries,
# so they match anywhere), and the mechanism phrases that name one drug: an IL-1 or IL-6
# (receptor) blocker, antagonist or inhibitor, anti-IL-1/anti-IL-6, IL-1Ra, IL-6R.
_LATIN_NAMES = (
    r"anakinra|kineret|tocilizumab|actemra|roactemra|tyenne|tofidence|avtozma|tcz|toci"
    r"|anti[\s-]*il[\s-]*(?:1|6)(?:[\s-]*r(?:a|eceptor)?)?"
    r"|il[\s-]*1[\s-]*ra|il[\s-]*6[\s-]*r"
    r"|il[\s-]*(?:1|6)(?:[\s-]*(?:r|receptor))?[\s-]*(?:blockers?|blockade|antagonists?"
    r"|inhibitors?|inhibition)"
)
_OTHER_SCRIPTS = (
    r"아나킨라|키네렛|토실리주맙|악템라|アナキンラ|キネレット|トシリズマブ|アクテムラ"
    r"|阿那白滞素|托珠单抗|托珠單抗|雅美罗|анакинра|кинерет|тоцилизумаб|актемра"
)
DRUG_NAME_PATTERN = re.compile(
    rf"(?<![^\W\d_])(?:{_LATIN_NAMES})(?![^\W\d_])|{_OTHER_SCRIPTS}",
    re.IGNORECASE,
)


def _folded(text: str) -> str:
    """``text`` as it reads: compatibility forms folded (full-width letters), invisible format
    characters (zero-width space, soft hyphen, direction marks) removed."""
    normal = unicodedata.normalize("NFKC", text)
    return "".join(ch for ch in normal if unicodedata.category(ch) != "Cf")


def mentions_drug(text: object) -> bool:
    """True when ``text`` names either study drug by a generic or brand name."""
    return isinstance(text, str) and bool(DRUG_NAME_PATTERN.search(_folded(text)))


@dataclass(frozen=True)
class ArmRevealing:
    fields: frozenset[str] = frozenset()
    record: bool = False
    text_fields: frozenset[str] = frozenset()

    def __init__(
        self, fields: Iterable[str] = (), record: bool = False, text_fields: Iterable[str] = ()
    ) -> None:
        object.__setattr__(self, "fields", frozenset(fields))
        object.__setattr__(self, "record", record)
        object.__setattr__(self, "text_fields", frozenset(text_fields))

    @property
    def reveals_anything(self) -> bool:
        return self.record or bool(self.fields) or bool(self.text_fields)

    def apply(self, values: Mapping[str, Any], *, masked: bool) -> dict[str, Any] | None:
        """``values`` (a record's fields, or a form's items keyed by item code) as a reader sees
        them: a masked reader gets :data:`MASKED` for arm-revealing fields and for free text
        naming a drug, and ``None`` for a wholly arm-revealing record."""
        out = dict(values)
        if not masked:
            return out
        if self.record:
            return None
        for name in self.fields:
            if name in out:
                out[name] = MASKED
        for name in self.text_fields:
            if name in out and mentions_drug(out[name]):
                out[name] = MASKED
        return out


NOT_ARM_REVEALING = ArmRevealing()

# Django apps whose models hold participant data and must declare ``arm_revealing``; an app
# also marks itself with ``trial_data = True`` on its AppConfig (read by the audit admin).
TRIAL_DATA_APPS: tuple[str, ...] = ("participants", "allocation", "crf", "safety")


def trial_data_app_labels() -> frozenset[str]:
    """The labels of the trial-data apps: the list above and every app that declares itself."""
    from django.apps import apps

    flagged = {c.label for c in apps.get_app_configs() if getattr(c, "trial_data", False)}
    return frozenset(TRIAL_DATA_APPS) | flagged


def declaration_of(model: type) -> ArmRevealing | None:
    value = getattr(model, "arm_revealing", None)
    return value if isinstance(value, ArmRevealing) else None


def redact_values(model: type, values: Mapping[str, Any], *, masked: bool) -> dict[str, Any] | None:
    """Return ``values`` with arm-revealing content replaced by :data:`MASKED` for a masked
    reader; ``None`` when the whole record is arm-revealing. Unmasked readers get a copy."""
    declared = declaration_of(model)
    if declared is None:
        raise TypeError(f"{model.__name__} has no arm_revealing declaration")
    return declared.apply(values, masked=masked)
