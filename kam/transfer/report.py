"""What an import found: each sheet's tally, every problem at its sheet, row and
column, and whether anything was written (kam.transfer.importer fills it in)."""

from __future__ import annotations

from dataclasses import dataclass, field

from kam.transfer import columns as cols

MAX_PROBLEMS = 500
PREVIEW_ROWS = 20
CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"


@dataclass
class Problem:
    sheet: str
    row: int  # the spreadsheet's row number (1 = the first line)
    column: str  # the header as in the file ("" for the whole row)
    message: str
    warning: bool = False


@dataclass
class Tally:
    kind: cols.Kind
    sheet: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    invalid: int = 0
    # The first rows, for the preview: (row number, outcome or "invalid", label).
    preview: list[tuple[int, str, str]] = field(default_factory=list)


@dataclass
class Report:
    file_name: str
    tallies: list[Tally] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    problems_left_out: int = 0
    written: bool = False
    valid_only: bool = False
    # (kind key, row) of every row that failed: what `valid_only` skips.
    invalid_rows: set[tuple[str, int]] = field(default_factory=set)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if not p.warning]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.warning]

    @property
    def error_count(self) -> int:
        return len(self.errors) + self.problems_left_out

    @property
    def valid_rows(self) -> int:
        return sum(t.created + t.updated + t.unchanged for t in self.tallies)

    def add(self, problem: Problem) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(problem)
        elif not problem.warning:
            self.problems_left_out += 1
