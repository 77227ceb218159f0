"""Properties of the referral programme through the services and the database (SPEC §7,
issue 7's "verify before resolving"): random sequences of collections, releases and
payouts on one partner with 1–4 direct/indirect referrals, some at the partner's
employer. After every step:

- a period's payouts add up to at most its payable amount, each paid exactly what was
  due then, and never more than what an independent reckoning of the *clear* (not held)
  lines allows — held money is never in a payout;
- a payout repeated without new money is refused and writes nothing;
- a period shows `overpaid` exactly when more was paid than is payable now (possible
  when the partner's employer is found after a payout);
- a line's commission is the rate on its collected money, rounded once;
- earned (every period) + pending = the rate on the contract for each direct deal.

Each example runs in a transaction rolled back at its end, so the examples share only
the users of the `world` fixture."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from kam.accounts.services import account_create
from kam.core import clock
from kam.core.errors import Conflict
from kam.core.periods import named_period
from kam.partners import programmes, services
from kam.partners.models import Payment, Payout
from kam.partners.selectors import partner_statement
from tests.partners.conftest import at, make_partner, refer, won_deal

D = Decimal
FEN = D("0.01")
RATE, WEIGHT, THRESHOLD, BONUS = D("0.05"), D("0.40"), D("100000"), D("0.01")
PERIODS = ("2026H1", "2026H2")
# Late enough that both halves of 2026 have ended.
LATE = at(2027, 3, 1)


def fen(x: Decimal) -> Decimal:
    return x.quantize(FEN, ROUND_HALF_UP)


class _Rollback(Exception):
    pass


# --- what a test builds and does ----------------------------------------------------------

amounts = st.one_of(
    st.sampled_from([D("30000"), D("40000"), D("60000"), D("99999.99"), D("150000")]),
    st.integers(1, 150_000_00).map(lambda cents: D(cents) / 100),
)
deals = st.lists(
    st.tuples(
        st.sampled_from(("direct", "indirect")),
        st.booleans(),  # at the partner's employer: a conflict of interest
        amounts,
        st.dates(dt.date(2026, 1, 5), dt.date(2026, 11, 30)),  # the day it was won
    ),
    min_size=1,
    max_size=4,
)
payment = st.tuples(
    st.just("pay"),
    st.integers(0, 3),  # which deal
    st.one_of(st.none(), amounts),  # None: everything outstanding
    st.integers(0, 365),  # days after the win (capped at the year's end)
)
payout = st.tuples(st.just("payout"), st.sampled_from(PERIODS))
operations = st.lists(
    st.one_of(
        payment,
        payment,
        payment,
        st.tuples(st.just("release"), st.integers(0, 3)),
        payout,
        payout,
        st.tuples(st.just("employ")),  # it turns out the other customer employs the partner
    ),
    min_size=3,
    max_size=14,
)


@dataclass
class Deal:
    opp: object
    referral: object
    kind: str
    amount: Decimal
    won_on: dt.date
    conflict: bool
    released: bool = False
    payments: list[tuple[dt.date, Decimal]] = field(default_factory=list)

    @property
    def held(self) -> bool:
        return self.conflict and not self.released

    def outstanding(self) -> Decimal:
        return self.amount - sum((v for _, v in self.payments), D(0))


# --- an independent reckoning of what is payable -------------------------------------------


def reckon(book: list[Deal], key: str) -> dict[str, Decimal]:
    """SPEC §7 written again from the tracked facts: payable = the clear lines' commission
    + the bonus the clear lines reach on their own."""
    span = named_period(key)

    def base(d: Deal) -> Decimal:
        if d.kind == "indirect":
            return fen(WEIGHT * d.amount) if span.contains(d.won_on) else D(0)
        return sum((v for day, v in d.payments if span.contains(day)), D(0))

    def bonus(b: Decimal) -> Decimal:
        return fen(BONUS * b) if b >= THRESHOLD and b else D(0)

    clear = [d for d in book if not d.held]
    commission = sum((fen(RATE * base(d)) for d in clear if d.kind == "direct"), D(0))
    return {
        "payable": commission + bonus(sum((base(d) for d in clear), D(0))),
        "bonus": bonus(sum((base(d) for d in book), D(0))),
    }


# --- the checks after each step -----------------------------------------------------------


def check(partner, book: list[Deal], paid_at: list[dict]) -> None:
    by_opp = {d.opp.pk: d for d in book}
    totals = {d.opp.pk: D(0) for d in book if d.kind == "direct"}
    last_pending = {}
    for key in PERIODS:
        report = partner_statement(partner, named_period(key))
        expected = reckon(book, key)
        if report.figures.volume_bonus:
            event("a bonus " + ("partly held" if report.figures.bonus_held else "paid in full"))
        # the statement agrees with the independent reckoning; held money is not payable
        assert report.payable == expected["payable"]
        assert report.figures.volume_bonus == expected["bonus"]
        clear = [x for x in report.figures.lines if not x.held]
        assert report.payable == sum((x.commission for x in clear), D(0)) + (
            report.figures.volume_bonus - report.figures.bonus_held
        )
        # the period's payouts never add up to more than is payable — unless an employer
        # found after a payout held what was paid, which the overpaid flag then says
        payouts = list(Payout.objects.filter(partner=partner, period=key))
        paid = sum((p.amount for p in payouts), D(0))
        assert paid == report.paid
        overpaid = "overpaid" in [f.code for f in report.flags]
        assert overpaid == (paid > report.payable)
        if overpaid:
            event("overpaid after an employer was found")
        assert report.due == max(D(0), report.payable - paid)
        for line in report.figures.lines:
            deal = by_opp[line.opportunity_id]
            assert line.held == deal.held
            if line.kind == "direct":
                # the rate on the money collected, rounded once; never more
                assert line.commission == fen(RATE * line.collected)
                assert line.commission <= fen(RATE * line.collected_to_date)
                totals[line.opportunity_id] += line.commission
                last_pending[line.opportunity_id] = line.pending
            else:
                assert (line.commission, line.pending) == (D(0), D(0))
    # earned over the year + what is still pending = the rate on the contract (each part
    # rounded once, so within half a fen per part)
    for opp_id, earned in totals.items():
        assert abs(earned + last_pending[opp_id] - RATE * by_opp[opp_id].amount) <= D("0.015")
    # each payout paid what was due then, within what the clear lines allowed
    for record in paid_at:
        payout = record["payout"]
        snap = payout.statement
        assert payout.amount == record["due"] > 0
        assert D(snap["payable"]) == record["clear_payable"]
        assert D(snap["paid_before"]) + payout.amount == D(snap["payable"])
        held_lines = [x for x in snap["lines"] if x["held"]]
        clear_commission = sum((D(x["commission"]) for x in snap["lines"] if not x["held"]), D(0))
        assert D(snap["payable"]) == clear_commission + D(snap["volume_bonus"]) - D(
            snap["bonus_held"]
        )
        if held_lines:
            assert D(snap["held"]) >= sum((D(x["commission"]) for x in held_lines), D(0))


# --- the property ------------------------------------------------------------------------------


def run(world, shape, steps) -> None:
    rep, admin = world.rep_a, world.admin
    with clock.freeze(at(2025, 12, 1)):
        employer = account_create(actor=rep, name="employer")
        other = account_create(actor=rep, name="other customer")
    partner = make_partner(rep, "李四", employer=employer)
    book: list[Deal] = []
    for i, (kind, conflicted, amount, won) in enumerate(shape):
        account = employer if conflicted else other
        opp = won_deal(rep, account, f"deal {i}", str(amount), at(won.year, won.month, won.day))
        referral = refer(rep, partner, opp, kind, day=won - dt.timedelta(days=3))
        assert referral.conflict == conflicted
        book.append(Deal(opp, referral, kind, amount, programmes.won_on(opp), conflicted))
    paid_at: list[dict] = []
    check(partner, book, paid_at)
    for step in steps:
        if step[0] == "pay":
            _, index, wanted, offset = step
            deal = book[index % len(book)]
            left = deal.outstanding()
            amount = left if wanted is None else min(wanted, left)
            day = min(deal.won_on + dt.timedelta(days=offset), dt.date(2026, 12, 31))
            if amount <= 0:
                continue
            services.payment_record(actor=rep, opportunity=deal.opp, amount=amount, date=day)
            deal.payments.append((day, amount))
        elif step[0] == "employ":
            services.partner_update(actor=rep, partner=partner, employer_account=other)
            for deal in book:
                deal.conflict = True
        elif step[0] == "release":
            deal = book[step[1] % len(book)]
            document = SimpleUploadedFile("ok.pdf", b"%PDF-1.4\n", "application/pdf")
            if deal.held:
                services.referral_release(
                    actor=admin, referral=deal.referral, note="ok", document=document
                )
                deal.released = True
                event("released a held commission")
            else:
                try:
                    services.referral_release(
                        actor=admin, referral=deal.referral, note="ok", document=document
                    )
                except Conflict:
                    pass
                else:
                    raise AssertionError("a referral that is not held was released")
        else:
            key = step[1]
            clear_payable = reckon(book, key)["payable"]
            paid_before = sum(
                (p.amount for p in Payout.objects.filter(partner=partner, period=key)), D(0)
            )
            due = clear_payable - paid_before
            count = Payout.objects.count()
            if due > 0:
                payout = services.payout_record(actor=admin, partner=partner, period=key)
                paid_at.append({"payout": payout, "due": due, "clear_payable": clear_payable})
                event("paid out" + (" after an earlier payout" if paid_before else ""))
                # the same payout again, without new money, is refused and writes nothing
                try:
                    services.payout_record(actor=admin, partner=partner, period=key)
                except Conflict:
                    pass
                else:
                    raise AssertionError("a period was paid twice")
                assert Payout.objects.count() == count + 1
            else:
                try:
                    services.payout_record(actor=admin, partner=partner, period=key)
                except Conflict:
                    pass
                else:
                    raise AssertionError("a payout was recorded with nothing due")
                event("a payout refused: nothing due")
                assert Payout.objects.count() == count
        check(partner, book, paid_at)
    # at the end: collections never exceed the contracts, and all payouts are accounted for
    for deal in book:
        collected = Payment.objects.filter(opportunity=deal.opp).values_list("amount", flat=True)
        assert sum(collected, D(0)) == deal.amount - deal.outstanding() <= deal.amount
    assert sum((r["payout"].amount for r in paid_at), D(0)) == sum(
        (p.amount for p in Payout.objects.filter(partner=partner)), D(0)
    )


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(shape=deals, steps=operations)
@example(  # SPEC §7's example at the employer: held, released one by one, paid the difference
    shape=[
        ("direct", True, D("40000"), dt.date(2026, 2, 10)),
        ("direct", True, D("60000"), dt.date(2026, 3, 15)),
        ("indirect", False, D("30000"), dt.date(2026, 4, 20)),
    ],
    steps=[
        ("pay", 0, None, 19),
        ("pay", 1, D("50000"), 17),
        ("payout", "2026H1"),
        ("release", 0),
        ("payout", "2026H1"),
        ("release", 1),
        ("payout", "2026H1"),
        ("payout", "2026H2"),
        ("pay", 1, None, 200),
        ("payout", "2026H2"),
        ("release", 2),
    ],
)
@example(  # a bonus reached with a held deal: its share is held, then paid on release
    shape=[
        ("direct", False, D("150000"), dt.date(2026, 1, 10)),
        ("direct", True, D("60000"), dt.date(2026, 2, 1)),
    ],
    steps=[
        ("pay", 0, None, 10),
        ("pay", 1, None, 10),
        ("payout", "2026H1"),
        ("release", 1),
        ("payout", "2026H1"),
        ("payout", "2026H1"),
    ],
)
@example(  # an employer found after a payout: the paid period shows overpaid, nothing more
    shape=[("direct", False, D("40000"), dt.date(2026, 2, 10))],
    steps=[("pay", 0, None, 5), ("payout", "2026H1"), ("employ",), ("payout", "2026H1"),
           ("release", 0), ("payout", "2026H1")],
)  # fmt: skip
def test_payouts_never_pay_held_money_nor_twice(world, shape, steps):
    with clock.freeze(LATE):
        try:
            with transaction.atomic():
                run(world, shape, steps)
                raise _Rollback
        except _Rollback:
            pass
