"""Compile KAM's gettext catalogues (.po -> .mo) in pure Python with polib.

Django's `compilemessages` needs GNU gettext's msgfmt from the operating system;
this does the same job with a pinned Python package, so `make demo` needs nothing
from apt. Like msgfmt, polib leaves fuzzy and untranslated entries out of the .mo.

A catalogue is compiled only when its .mo is missing or older than the .po.
Usage: .venv/bin/python scripts/compile_messages.py [--force]
"""

from __future__ import annotations

import sys
from pathlib import Path

import polib

ROOT = Path(__file__).resolve().parent.parent


def catalogues() -> list[Path]:
    """Every django.po / djangojs.po under a locale folder of the kam package."""
    return sorted(ROOT.glob("kam/**/locale/*/LC_MESSAGES/*.po"))


def compile_one(po_path: Path) -> None:
    mo_path = po_path.with_suffix(".mo")
    tmp_path = mo_path.with_suffix(".mo.tmp")
    catalogue = polib.pofile(str(po_path))
    catalogue.save_as_mofile(str(tmp_path))
    tmp_path.replace(mo_path)  # atomic: a running server never reads half a file


def main(argv: list[str]) -> int:
    force = "--force" in argv
    found = catalogues()
    if not found:
        print("    no .po catalogues found under kam/ (nothing to compile)")
        return 0
    compiled = 0
    for po_path in found:
        mo_path = po_path.with_suffix(".mo")
        if not force and mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        try:
            compile_one(po_path)
        except (OSError, ValueError) as exc:
            print(f"ERROR: could not compile {po_path.relative_to(ROOT)}: {exc}", file=sys.stderr)
            return 1
        compiled += 1
        print(f"    compiled {po_path.relative_to(ROOT)}")
    if compiled == 0:
        print(f"    {len(found)} catalogue(s) up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
