"""Where we fall short (需求分析): a need the customer rates 4 or 5 that we serve at
least two points lower, the widest gap first."""

from __future__ import annotations

import pytest

from kam.accounts.models import AccountNeed
from kam.accounts.needs import is_shortfall, shortfalls


@pytest.mark.parametrize(
    ("importance", "our_fit", "expected"),
    [
        (5, 3, True),
        (5, 4, False),
        (4, 2, True),
        (4, 3, False),
        (3, 1, False),  # the customer does not care enough
        (2, 5, False),
    ],
)
def test_is_shortfall_at_each_threshold(importance, our_fit, expected):
    assert is_shortfall(importance, our_fit) is expected


def test_shortfalls_widest_gap_then_most_important_then_list_order():
    # given
    needs = [
        AccountNeed(dimension=name, importance=i, our_fit=f)
        for name, i, f in (
            ("a", 4, 2),
            ("b", 5, 1),
            ("c", 5, 3),
            ("d", 4, 1),
            ("e", 4, 2),
            ("f", 3, 1),
        )
    ]
    # when / then
    assert [n.dimension for n in shortfalls(needs)] == ["b", "d", "c", "a", "e"]
