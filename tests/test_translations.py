"""Every user-facing string is in the zh-Hans catalogue, translated and current.

Runs Django's makemessages on a copy of the package (so the working tree is never
touched) and checks the result: a string added to the code without a translation
fails here."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest

import kam

PACKAGE = Path(kam.__file__).resolve().parent
LANGUAGES = ["zh_Hans", "en"]


@pytest.fixture(scope="module")
def extracted(tmp_path_factory) -> Path:
    if shutil.which("xgettext") is None:
        pytest.fail("xgettext is missing: install Debian's gettext package (make test does).")
    root = tmp_path_factory.mktemp("i18n")
    shutil.copytree(PACKAGE, root / "kam",
                    ignore=shutil.ignore_patterns("__pycache__", "vendor", "*.mo"))
    env = {**os.environ, "PYTHONPATH": str(root), "DJANGO_SETTINGS_MODULE": "kam.config.settings"}
    for lang in LANGUAGES:
        subprocess.run(
            [sys.executable, "-m", "django", "makemessages", "-l", lang, "--no-obsolete",
             "--no-location", "-i", "node_modules", "-i", ".venv"],
            cwd=root / "kam", env=env, check=True, capture_output=True, text=True, timeout=300,
        )
    return root / "kam" / "locale"


def test_every_string_has_a_chinese_translation(extracted):
    catalogue = polib.pofile(str(extracted / "zh_Hans" / "LC_MESSAGES" / "django.po"))
    missing = [e.msgid for e in catalogue if not e.obsolete and not e.translated()]
    fuzzy = [e.msgid for e in catalogue if "fuzzy" in e.flags]
    assert missing == [], f"untranslated in zh_Hans: {missing[:20]} (+{len(missing)} in all)"
    assert fuzzy == [], f"fuzzy (needs review) in zh_Hans: {fuzzy[:20]}"


def test_committed_catalogues_are_current(extracted):
    """The committed .po files hold every msgid the code uses (run
    `make messages` after adding strings)."""
    for lang in LANGUAGES:
        fresh = {e.msgid for e in polib.pofile(str(extracted / lang / "LC_MESSAGES" /
                                                   "django.po"))}
        committed = {e.msgid for e in polib.pofile(str(PACKAGE / "locale" / lang /
                                                       "LC_MESSAGES" / "django.po"))
                     if not e.obsolete}
        assert fresh - committed == set(), f"{lang}: not in the committed catalogue"


def test_placeholders_survive_translation():
    catalogue = polib.pofile(str(PACKAGE / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"))
    import re

    pattern = re.compile(r"%\(\w+\)[sdf]|\{\w*\}")
    for entry in catalogue.translated_entries():
        translations = (list(entry.msgstr_plural.values()) if entry.msgid_plural
                        else [entry.msgstr])
        # Chinese has one plural form, used for every count: it carries the plural's
        # placeholders (the count included).
        source = entry.msgid_plural or entry.msgid
        for text in translations:
            assert sorted(set(pattern.findall(source))) == sorted(
                set(pattern.findall(text))), entry.msgid
