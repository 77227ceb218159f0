"""GET /api/v1/partners/{id}/statement: SPEC §7's worked example through the API,
held for the conflict of interest, then released by an admin."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile

from kam.core import clock

PDF = b"%PDF-1.4\n% disclosure\n"


def release(api, partner_id, referral_id, note="客户书面知情同意函,2026-07-01 签署", data=PDF):
    return api.client.post(
        f"/api/v1/partners/{partner_id}/referrals/{referral_id}/release",
        {"note": note, "file": SimpleUploadedFile("同意函.pdf", data, "application/pdf")},
        **api.headers,
    )


def test_the_worked_example_is_held_for_the_conflict(world, api_as, lisi):
    # given 李四's referrals at his employer (SPEC §7 worked example)
    pid = lisi["partner"].pk
    # when
    r = api_as(world.rep_a).get(f"partners/{pid}/statement?period=2026H1")
    # then the figures are computed, all held: the clear base (12,000) misses the threshold
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["period"] == "2026H1"
    assert [(x["kind"], x["commission"], x["pending"], x["base"]) for x in body["lines"]] == [
        ("direct", "2000.00", "0.00", "40000.00"),
        ("direct", "2500.00", "500.00", "50000.00"),
        ("indirect", "0.00", "0.00", "12000.00"),
    ]
    assert body["volume_base"] == "102000.00"
    assert body["volume_bonus"] == "1020.00"
    assert body["earned"] == "0.00"
    assert body["held"] == "6020.00"
    assert body["payable"] == "0.00"
    assert [f["code"] for f in body["flags"]] == ["conflict_of_interest", "conflict_of_interest"]
    assert "Anti-Unfair Competition Law" in body["flags"][0]["message"]


def test_admin_releases_both_and_the_example_is_payable(world, api_as, lisi):
    pid = lisi["partner"].pk
    admin = api_as(world.admin)
    for key in ("d40", "d60"):
        with clock.freeze(clock.now()):
            r = release(admin, pid, lisi["referrals"][key].pk)
        assert r.status_code == 200, r.content
        assert r.json()["held"] is False
    body = admin.get(f"partners/{pid}/statement?period=2026H1").json()
    assert (body["earned"], body["pending"], body["held"]) == ("4500.00", "500.00", "0.00")
    assert (body["volume_base"], body["volume_bonus"], body["payable"]) == (
        "102000.00",
        "1020.00",
        "5520.00",
    )
    assert body["flags"] == []


def test_a_rep_cannot_release(world, api_as, lisi):
    pid = lisi["partner"].pk
    r = release(api_as(world.rep_a), pid, lisi["referrals"]["d40"].pk)
    assert r.status_code == 403
    lisi["referrals"]["d40"].refresh_from_db()
    assert lisi["referrals"]["d40"].released_at is None
