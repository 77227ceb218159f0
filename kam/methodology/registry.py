"""Loads the methodology files once and answers questions about them.

Shipped files live in kam/methodology/; an administrator adds playbooks as TOML
files in <KAM_DATA_DIR>/playbooks/ (same format). Any problem is reported as a
MethodologyError naming the file and the field."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import TypeVar

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from pydantic import BaseModel, ValidationError

from kam.methodology.schema import BuyerProcess, Playbook

HERE = Path(__file__).resolve().parent
BUYER_PROCESS_FILE = HERE / "buyer_process.toml"

M = TypeVar("M", bound=BaseModel)


class MethodologyError(ImproperlyConfigured):
    """A methodology file is unreadable or inconsistent."""


def _location(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(file)"


def parse_file(path: Path, model: type[M]) -> M:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise MethodologyError(f"{path}: cannot be read ({exc.strerror}).") from None
    except UnicodeDecodeError:
        raise MethodologyError(f"{path}: is not UTF-8 text; save it as UTF-8.") from None
    except tomllib.TOMLDecodeError as exc:
        raise MethodologyError(f"{path}: is not valid TOML: {exc}.") from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{_location(err['loc'])}: {err['msg']}" for err in exc.errors(include_url=False)
        )
        raise MethodologyError(f"{path}: {problems}") from None


class Methodology:
    def __init__(self, buyer: BuyerProcess, playbooks: dict[str, Playbook]):
        self.buyer = buyer
        self.playbooks = playbooks
        defaults = [p.key for p in playbooks.values() if p.default]
        self.default_playbook_key = defaults[0] if defaults else next(iter(playbooks))


def build(playbook_dirs: list[Path], buyer_file: Path = BUYER_PROCESS_FILE) -> Methodology:
    buyer = parse_file(buyer_file, BuyerProcess)
    playbooks: dict[str, Playbook] = {}
    sources: dict[str, Path] = {}
    for folder in playbook_dirs:
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.toml")):
            book = parse_file(path, Playbook)
            if book.key != path.stem:
                raise MethodologyError(
                    f"{path}: key '{book.key}' must match the file name; rename the file to "
                    f'{book.key}.toml or set key = "{path.stem}".'
                )
            if book.key in playbooks:
                raise MethodologyError(
                    f"{path}: playbook '{book.key}' is already defined in {sources[book.key]}; "
                    "give it another key."
                )
            try:
                book.check_against(buyer)
            except ValueError as exc:
                raise MethodologyError(f"{path}: {exc}") from None
            playbooks[book.key] = book
            sources[book.key] = path
    if not playbooks:
        raise MethodologyError(f"No playbook found in {', '.join(map(str, playbook_dirs))}.")
    defaults = [k for k, p in playbooks.items() if p.default]
    if len(defaults) > 1:
        raise MethodologyError(
            f"More than one playbook says default = true ({', '.join(defaults)}); keep one."
        )
    return Methodology(buyer, playbooks)


_current: Methodology | None = None


def load() -> Methodology:
    global _current
    _current = build([Path(p) for p in settings.KAM_PLAYBOOK_DIRS])
    return _current


def current() -> Methodology:
    return _current if _current is not None else load()


def playbook(key: str) -> Playbook:
    return current().playbooks[key]


def playbook_keys() -> list[str]:
    return list(current().playbooks)


def default_playbook_key() -> str:
    return current().default_playbook_key


def buyer_process() -> BuyerProcess:
    return current().buyer
