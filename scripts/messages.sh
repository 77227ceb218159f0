#!/usr/bin/env bash
# `make messages`: after adding or changing user-facing strings, bring the zh-Hans
# and en catalogues (kam/locale/*/LC_MESSAGES/django.po) up to date with the code,
# then compile them. Translate the new entries in kam/locale/zh_Hans/ afterwards;
# tests/test_translations.py fails while any is missing or fuzzy.
# Needs GNU gettext's xgettext/msgmerge (Debian: apt-get install gettext; make test installs it).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

bash scripts/setup.sh --dev
command -v xgettext >/dev/null 2>&1 \
  || { echo "ERROR: xgettext not found: install gettext (Debian: apt-get install gettext)." >&2; exit 1; }

echo "==> extracting messages into kam/locale (zh_Hans, en)"
(
  cd kam
  DJANGO_SETTINGS_MODULE=kam.config.settings ../.venv/bin/python -m django makemessages \
    -l zh_Hans -l en --no-obsolete --no-location -i node_modules -i .venv -i 'web/static/vendor'
)
echo "==> compiling translations"
.venv/bin/python scripts/compile_messages.py
