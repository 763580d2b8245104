"""Participant-facing words per language in the form metadata (§14 "label per language")."""

from __future__ import annotations

import doctest

import pytest

from combat_norse.crf import catalog, metadata
from combat_norse.crf.metadata import FormDef, ItemDef, ItemType, in_language

pytestmark = pytest.mark.req("#17", "§14")


def test_a_label_comes_in_the_language_then_its_base_language_then_english() -> None:
    item = ItemDef("notes", ItemType.TEXT, "Notes", labels={"fr": "Remarques", "SV": "Anteckn."})
    assert item.label_in("fr") == "Remarques"
    assert item.label_in("fr-ca") == "Remarques" and item.label_in("FR-CA") == "Remarques"
    assert item.label_in("sv") == "Anteckn."  # codes compared in lower case
    assert item.label_in("ko") == "Notes" and item.label_in("") == "Notes"
    assert in_language("Notes", {"fr": ""}, "fr") == "Notes"  # an empty translation is none


def test_the_in_language_examples_run() -> None:
    finder = doctest.DocTestFinder()
    tests = [t for t in finder.find(metadata) if t.name.endswith("in_language")]
    runner = doctest.DocTestRunner()
    for t in tests:
        runner.run(t)
    assert tests and runner.failures == 0


def test_translations_do_not_change_a_form_versions_fingerprint() -> None:
    bare = FormDef("survey", 1, "Survey", visits=("day30",),
                   items=(ItemDef("q1", ItemType.TEXT, "Question"),))  # fmt: skip
    worded = FormDef("survey", 1, "Survey", visits=("day30",), titles={"fr": "Enquête"},
                     notice="Thank you", notices={"fr": "Merci"},
                     items=(ItemDef("q1", ItemType.TEXT, "Question",
                                    labels={"fr": "Question (fr)"}),))  # fmt: skip
    assert bare.fingerprint() == worded.fingerprint()
    assert worded.languages == ["en", "fr"] and bare.languages == ["en"]
    assert worded.title_in("fr") == "Enquête" and worded.notice_in("it") == "Thank you"
    assert bare.notice_in("fr") == ""


def test_the_demo_interview_is_translated_into_every_shipped_language() -> None:
    interview = catalog.form("interview")
    assert interview.languages == ["en", "fr", "it", "ko", "sv"]
    for language in ("fr", "it", "ko", "sv"):
        assert interview.title_in(language) != interview.title
        assert interview.notice_in(language) != interview.notice
        assert all(i.label_in(language) != i.label for i in interview.items)
