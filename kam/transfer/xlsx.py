"""Reading the sheets of an .xlsx as rows of values, as a stream and fast.

openpyxl's read-only mode makes an object per cell through its descriptors: 15 s for a
sheet of 90,000 rows, more than the rest of the import. Here each worksheet's XML is
read with expat straight out of the zip, 64 KB at a time, and each cell typed as
openpyxl types it — numbers as int or float, dates by their cell's number format (the
1900 or 1904 calendar), shared and inline strings, booleans, errors, ISO dates — with
openpyxl's own helpers for number formats, date serials and shared formulas. A cell
with a formula is a `Formula` (its text, "=…"): the import takes values only.

Rows come out numbered as the sheet numbers them: a row missing from the XML is an
empty tuple, so the importer's row numbers are Excel's. Unlike openpyxl's read-only
mode, rows past the sheet's declared dimension are read too (some programs write a
wrong one). Shared strings are read once, whole, as openpyxl does. A document type
declaration is refused (an .xlsx never has one; entities are how XML bombs work).

A large worksheet is read by a second process (`Workbook.stream`): reading the XML is a
fifth of an import's time, and the importer, one process, can check and write rows
meanwhile on the other core. `python -m kam.transfer.xlsx FILE MEMBER` sends the rows
on its standard output, pickled a thousand at a time; the pipe's buffer holds it back
when the importer falls behind, so memory stays flat. If that process cannot start or
stops early, the rest is read here, from the row it had reached."""

from __future__ import annotations

import functools
import logging
import pickle
import posixpath
import re
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree
from xml.parsers import expat

from openpyxl.formula.translate import Translator
from openpyxl.styles.numbers import builtin_format_code, is_date_format, is_timedelta_format
from openpyxl.utils.datetime import CALENDAR_MAC_1904, WINDOWS_EPOCH, from_excel, from_ISO8601

from kam.transfer.files import Formula

BLOCK = 1 << 16
_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_WORKSHEET = _RELS + "/worksheet"
_SHARED_STRINGS = _RELS + "/sharedStrings"
_STYLES = _RELS + "/styles"
_OFFICE_DOCUMENT = _RELS + "/officeDocument"
_COLUMN = re.compile(r"[A-Z]+")
logger = logging.getLogger(__name__)
# A worksheet whose XML unpacks to this many bytes or more is read by a second process
# (about 20,000 rows of a dozen columns; a smaller one is read before that would start).
READ_AHEAD_BYTES = 4 * 1024 * 1024
ROWS_PER_MESSAGE = 1000


class DamagedWorkbook(ValueError):
    """The workbook's parts are not what an .xlsx holds."""


class Workbook:
    """An .xlsx opened for reading: its worksheets' titles, and their rows on demand."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.archive = zipfile.ZipFile(path)
        try:
            self._read_book()
        except Exception:
            self.archive.close()
            raise

    def close(self) -> None:
        self.archive.close()

    # --- the small parts ---------------------------------------------------------------

    def _xml(self, member: str) -> ElementTree.Element:
        data = self.archive.read(member)
        if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
            raise DamagedWorkbook(f"{member}: a document type declaration")
        return ElementTree.fromstring(data)  # noqa: S314  (no DTD, see above)

    def _relations(self, part: str) -> dict[str, tuple[str, str]]:
        """Id -> (type, the target's member name) of a part's relationships."""
        folder, name = posixpath.split(part)
        rels = posixpath.join(folder, "_rels", name + ".rels")
        if rels not in self.archive.NameToInfo:
            return {}
        out = {}
        for rel in self._xml(rels):
            target = rel.get("Target", "")
            if rel.get("TargetMode") == "External":
                continue
            member = (
                target.lstrip("/")
                if target.startswith("/")
                else posixpath.normpath(posixpath.join(folder, target))
            )
            out[rel.get("Id", "")] = (rel.get("Type", ""), member)
        return out

    def _read_book(self) -> None:
        book = next(
            (m for t, m in self._relations("").values() if t == _OFFICE_DOCUMENT),
            "xl/workbook.xml",
        )
        relations = self._relations(book)
        root = self._xml(book)
        self.sheets: list[tuple[str, str]] = []  # (title, member)
        self.epoch = WINDOWS_EPOCH
        for element in root.iter():
            local = element.tag.rpartition("}")[2]
            if local == "workbookPr" and element.get("date1904") in ("1", "true"):
                self.epoch = CALENDAR_MAC_1904
            elif local == "sheet":
                rid = element.get(f"{{{_RELS}}}id", "")
                kind, member = relations.get(rid, ("", ""))
                if kind == _WORKSHEET:
                    self.sheets.append((element.get("name", ""), member))
        found = dict(relations.values())
        self._strings_member = found.get(_SHARED_STRINGS)
        self.date_styles, self.timedelta_styles = self._number_formats(found.get(_STYLES))

    def _number_formats(self, member: str | None) -> tuple[set[int], set[int]]:
        """The cell styles (by index) whose number format shows a date, or a duration."""
        if not member or member not in self.archive.NameToInfo:
            return set(), set()
        custom: dict[int, str] = {}
        formats: list[int] = []
        for element in self._xml(member):
            local = element.tag.rpartition("}")[2]
            if local == "numFmts":
                for fmt in element:
                    custom[int(fmt.get("numFmtId", "0"))] = fmt.get("formatCode", "")
            elif local == "cellXfs":
                formats = [int(xf.get("numFmtId", "0")) for xf in element]
        dates, durations = set(), set()
        for index, number in enumerate(formats):
            code = custom.get(number) or builtin_format_code(number)
            if is_date_format(code):
                dates.add(index)
            if is_timedelta_format(code):
                durations.add(index)
        return dates, durations

    @functools.cached_property
    def strings(self) -> list[str]:
        """The shared strings, read when a sheet is first read here (not when a second
        process reads it)."""
        return self._shared_strings(self._strings_member)

    def _shared_strings(self, member: str | None) -> list[str]:
        if not member or member not in self.archive.NameToInfo:
            return []
        strings: list[str] = []
        parts: list[str] = []
        state = {"text": False, "phonetic": 0}

        def start(name: str, attrs: dict) -> None:
            local = name.rpartition(" ")[2]
            if local == "t" and not state["phonetic"]:
                state["text"] = True
            elif local == "rPh":
                state["phonetic"] += 1
            elif local == "si":
                parts.clear()

        def end(name: str) -> None:
            local = name.rpartition(" ")[2]
            if local == "t":
                state["text"] = False
            elif local == "rPh":
                state["phonetic"] -= 1
            elif local == "si":
                # openpyxl drops the escape of an underscore (_x005F_) and no other
                strings.append("".join(parts).replace("x005F_", ""))

        def text(data: str) -> None:
            if state["text"]:
                parts.append(data)

        parser = _parser(start, end, text)
        with self.archive.open(member) as source:
            while block := source.read(BLOCK):
                parser.Parse(block, False)
        parser.Parse(b"", True)
        return strings

    # --- the sheets ----------------------------------------------------------------------

    def stream(self, member: str) -> Iterator[tuple[Any, ...]]:
        """`rows`, read by a second process when the sheet is large."""
        if self.archive.getinfo(member).file_size < READ_AHEAD_BYTES or not _may_start_process():
            return self.rows(member)
        return self._read_ahead(member)

    def _read_ahead(self, member: str) -> Iterator[tuple[Any, ...]]:
        """The rows as `python -m kam.transfer.xlsx` sends them; from where it stopped,
        read here."""
        yielded = 0
        child = None
        try:
            child = subprocess.Popen(  # noqa: S603  (this module, by the running Python)
                _reader_command(str(self.path), member),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
            assert child.stdout is not None
            while True:
                try:  # an unpickler a batch: each was pickled with a memo of its own
                    batch = _Received(child.stdout).load()
                except (EOFError, OSError, pickle.UnpicklingError) as exc:
                    logger.warning(
                        "reading %s in a second process stopped after %d rows (%r); "
                        "reading the rest here",
                        member,
                        yielded,
                        exc,
                    )
                    break
                if batch is None:
                    return  # all rows sent
                if batch is False:
                    break  # it could not read on: here the same error will be raised
                yield from batch
                yielded += len(batch)
        except OSError as exc:
            logger.warning("no second process to read %s (%s); reading it here", member, exc)
        finally:
            if child is not None:
                if child.poll() is None:
                    child.kill()
                child.wait()
                if child.stdout is not None:
                    child.stdout.close()
        for number, row in enumerate(self.rows(member)):
            if number >= yielded:
                yield row

    def rows(self, member: str) -> Iterator[tuple[Any, ...]]:
        """The sheet's rows, from row 1, each a tuple of cell values (None for an empty
        cell, trailing empty cells left out)."""
        reader = _SheetReader(self)
        parser = _parser(reader.start, reader.end, reader.text)
        with self.archive.open(member) as source:
            while True:
                block = source.read(BLOCK)
                parser.Parse(block, not block)
                if reader.done:
                    yield from reader.done
                    reader.done.clear()
                if not block:
                    break


def _may_start_process() -> bool:
    """Whether a second process may read: not when Python cannot be run again (a
    program embedding it may leave sys.executable empty)."""
    return bool(sys.executable)


def _reader_command(path: str, member: str) -> list[str]:
    return [sys.executable, "-m", "kam.transfer.xlsx", path, member]


class _Received(pickle.Unpickler):
    """The reading process's batches: lists and tuples of the values a cell holds,
    nothing else (a damaged or hostile workbook cannot make it build other objects)."""

    ALLOWED = frozenset(
        (
            ("datetime", "datetime"),
            ("datetime", "date"),
            ("datetime", "time"),
            ("datetime", "timedelta"),
            ("kam.transfer.files", "Formula"),
        )
    )

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"{module}.{name} is not a cell's value")
        return super().find_class(module, name)


def _read_in_child(path: str, member: str, out) -> None:
    """In the second process: the sheet's rows, pickled a batch at a time; None once
    all are sent, False when the sheet cannot be read on (the importer's own reading
    then reports it)."""
    try:
        book = Workbook(Path(path))
        try:
            batch: list[tuple[Any, ...]] = []
            for row in book.rows(member):
                batch.append(row)
                if len(batch) == ROWS_PER_MESSAGE:
                    pickle.dump(batch, out, protocol=pickle.HIGHEST_PROTOCOL)
                    batch = []
            if batch:
                pickle.dump(batch, out, protocol=pickle.HIGHEST_PROTOCOL)
        finally:
            book.close()
        pickle.dump(None, out)
    except (BrokenPipeError, ConnectionError):
        return  # the importer stopped reading
    except Exception:
        try:
            pickle.dump(False, out)
        except OSError:
            return
    out.flush()


class _SheetReader:
    """expat's callbacks for one worksheet; finished rows collect in `done`."""

    def __init__(self, book: Workbook):
        self.strings = book.strings
        self.epoch = book.epoch
        self.date_styles = book.date_styles
        self.timedelta_styles = book.timedelta_styles
        self.done: list[tuple[Any, ...]] = []
        self.next_row = 1  # the number the next row yielded has
        self.row_number = 0
        self.cells: dict[int, Any] = {}
        self.column = 0
        self.capture: list[str] | None = None
        # the cell being read
        self.type = "n"
        self.style = 0
        self.ref: str | None = None
        self.value: str | None = None
        self.inline: list[str] | None = None
        self.phonetic = 0
        self.formula: str | None = None
        self.formula_attrs: dict[str, str] = {}
        self.shared_formulas: dict[str, Translator] = {}
        self.names: dict[str, str] = {}

    def local(self, name: str) -> str:
        found = self.names.get(name)
        if found is None:
            found = self.names[name] = name.rpartition(" ")[2]
        return found

    def start(self, name: str, attrs: dict[str, str]) -> None:
        local = self.names.get(name) or self.local(name)
        if local == "c":
            self.type = attrs.get("t", "n")
            style = attrs.get("s")
            self.style = int(style) if style else 0
            self.ref = ref = attrs.get("r")
            if ref:
                self.column = _column_index(ref)
            else:
                self.column += 1
            self.value = None
            self.inline = None
            self.formula = None
        elif local == "v":
            self.capture = []
        elif local == "t":
            if self.inline is not None and not self.phonetic:
                self.capture = []
        elif local == "is":
            self.inline = []
        elif local == "rPh":
            self.phonetic += 1
        elif local == "f":
            self.capture = []
            self.formula_attrs = attrs
        elif local == "row":
            number = attrs.get("r")
            if number:
                try:
                    self.row_number = int(number)
                except ValueError:
                    value = float(number)
                    if not value.is_integer():
                        raise DamagedWorkbook(f"row number {number}") from None
                    self.row_number = int(value)
            else:
                self.row_number += 1
            self.cells = {}
            self.column = 0

    def end(self, name: str) -> None:
        local = self.names.get(name) or self.local(name)
        if local == "c":
            self.cells[self.column] = self.cell()
        elif local == "v":
            self.value = "".join(self.capture or ())
            self.capture = None
        elif local == "t":
            if self.capture is not None and self.inline is not None:
                self.inline.append("".join(self.capture))
            self.capture = None
        elif local == "rPh":
            self.phonetic -= 1
        elif local == "f":
            self.formula = "".join(self.capture or ())
            self.capture = None
        elif local == "row":
            self.emit()

    def text(self, data: str) -> None:
        if self.capture is not None:
            self.capture.append(data)

    def emit(self) -> None:
        number = self.row_number
        if number < self.next_row:
            return  # a row out of order or twice: openpyxl passes over it too
        while self.next_row < number:
            self.done.append(())
            self.next_row += 1
        cells = self.cells
        width = max(cells) if cells else 0
        self.done.append(tuple(cells.get(i) for i in range(1, width + 1)))
        self.next_row += 1

    def cell(self) -> Any:
        """The cell's value as openpyxl's read-only mode gives it (data_only=False)."""
        kind = self.type
        if self.formula is not None:
            return Formula(self._formula())
        value = None if kind == "inlineStr" else (self.value or None)
        if value is not None:
            if kind == "n":
                number: Any = (
                    float(value) if "." in value or "E" in value or "e" in value else int(value)
                )
                if self.style in self.date_styles:
                    try:
                        return from_excel(
                            number, self.epoch, timedelta=self.style in self.timedelta_styles
                        )
                    except (OverflowError, ValueError):
                        return "#VALUE!"
                return number
            if kind == "s":
                return self.strings[int(value)]
            if kind == "b":
                return bool(int(value))
            if kind == "d":
                return from_ISO8601(value)
            return value  # "str" (a formula's text result), "e" (an error such as #N/A)
        if kind == "inlineStr" and self.inline is not None:
            return "".join(self.inline)
        return None

    def _formula(self) -> str:
        text = "=" + (self.formula or "")
        attrs = self.formula_attrs
        if attrs.get("t") == "shared":
            index = attrs.get("si", "")
            if index in self.shared_formulas and self.ref:
                return self.shared_formulas[index].translate_formula(self.ref)
            if text != "=" and self.ref:
                self.shared_formulas[index] = Translator(text, self.ref)
        return text


_COLUMNS: dict[str, int] = {}


def _column_index(ref: str) -> int:
    """1 for A1, 27 for AA3."""
    letters = _COLUMN.match(ref)
    if letters is None:
        raise DamagedWorkbook(f"cell reference {ref}")
    key = letters.group()
    found = _COLUMNS.get(key)
    if found is None:
        found = 0
        for letter in key:
            found = found * 26 + ord(letter) - 64
        _COLUMNS[key] = found
    return found


def _parser(start, end, text):
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.buffer_text = True
    parser.buffer_size = BLOCK
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text

    def refuse(*_args) -> None:
        raise DamagedWorkbook("a document type declaration")

    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    return parser


if __name__ == "__main__":
    _read_in_child(sys.argv[1], sys.argv[2], sys.stdout.buffer)
