"""POST /api/v1/partners/{id}/referrals/{rid}/release (multipart: note + file) and GET
…/disclosure: an administrator releases a commission held for a conflict of interest
with the customer's written disclosure (SPEC §7); the document is checked, kept in the
data folder and served only to those who see the partner."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from kam.core.models import Event
from kam.partners.models import Referral

PDF = "%PDF-1.4\n% 客户书面知情同意函\n%%EOF\n".encode()
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 24
JPG = b"\xff\xd8\xff\xe0" + b"\x00" * 24
EXE = b"MZ\x90\x00" + b"\x00" * 24
NOTE = "苏州博远采购部 2026-07-01 书面同意,王总签字"


@pytest.fixture
def uploads(settings, tmp_path):
    settings.KAM_UPLOAD_DIR = tmp_path / "uploads"
    return settings.KAM_UPLOAD_DIR


def _files(folder) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def _release(api, partner_id, referral_id, *, note=NOTE, name="同意函.pdf", data=PDF, **override):
    body = {"note": note, "file": SimpleUploadedFile(name, data, "application/pdf")}
    body.update(override)
    body = {k: v for k, v in body.items() if v is not None}
    return api.client.post(
        f"/api/v1/partners/{partner_id}/referrals/{referral_id}/release", body, **api.headers
    )


def _state(referral):
    referral.refresh_from_db()
    return (
        referral.released_at,
        referral.released_by_id,
        referral.disclosure_note,
        referral.disclosure_file.name,
        Event.objects.filter(action="released").count(),
    )


@pytest.fixture
def held(lisi):
    return lisi["partner"].pk, lisi["referrals"]["d40"]


def test_an_admin_releases_with_the_disclosure(world, api_as, held, uploads):
    # given
    pid, referral = held
    # when
    r = _release(api_as(world.admin), pid, referral.pk)
    # then
    assert r.status_code == 200, r.content
    body = r.json()
    assert (body["conflict"], body["held"]) == (True, False)
    assert body["released_at"].startswith("2026-08-10T")
    assert (body["released_by"], body["disclosure_note"], body["disclosure_file"]) == (
        "admin",
        NOTE,
        "同意函.pdf",
    )
    referral.refresh_from_db()
    assert referral.released_by_id == world.admin.pk
    # the document is kept in the upload folder, byte for byte
    assert _files(uploads) == [f"disclosures/referral-{referral.pk}.pdf"]
    assert (uploads / "disclosures" / f"referral-{referral.pk}.pdf").read_bytes() == PDF
    # and the release is audited with the note
    event = Event.objects.get(entity="referral", entity_id=referral.pk, action="released")
    assert (event.actor_id, event.note, event.before, event.after) == (
        world.admin.pk,
        NOTE,
        {"held": True, "released_at": None},
        {
            "held": False,
            "released_at": "2026-08-10T10:00:00+08:00",
            "disclosure_file": "同意函.pdf",
        },
    )
    assert (event.opportunity_id, event.account_id) == (
        referral.opportunity_id,
        referral.opportunity.account_id,
    )


@pytest.mark.parametrize(("name", "data"), [("scan.PNG", PNG), ("photo.jpg", JPG), ("x.jpeg", JPG)])
def test_scans_are_accepted(world, api_as, held, uploads, name, data):
    pid, referral = held
    r = _release(api_as(world.admin), pid, referral.pk, name=name, data=data)
    assert r.status_code == 200, r.content
    assert r.json()["disclosure_file"] == name
    extension = name.rsplit(".", 1)[1].lower()
    assert _files(uploads) == [f"disclosures/referral-{referral.pk}.{extension}"]


@pytest.mark.parametrize("viewer", ["rep_a", "manager_east"])
def test_only_an_admin_releases(world, api_as, held, uploads, viewer):
    # given: they see the partner, they may not release
    pid, referral = held
    client = api_as(getattr(world, viewer))
    before = _state(referral)
    # when
    r = _release(client, pid, referral.pk)
    # then
    assert r.status_code == 403
    assert r.json()["detail"] == (
        "Only an administrator can release a commission held for a conflict of interest."
    )
    assert _state(referral) == before
    assert _files(uploads) == []


@pytest.mark.parametrize(("viewer", "expected"), [("rep_b", 404), ("manager_west", 404)])
def test_who_does_not_see_the_partner_gets_a_404(world, api_as, held, uploads, viewer, expected):
    pid, referral = held
    client = api_as(getattr(world, viewer))
    before = _state(referral)
    r = _release(client, pid, referral.pk)
    assert r.status_code == expected
    assert _state(referral) == before


@pytest.mark.parametrize(
    ("override", "field", "detail"),
    [
        ({"note": None}, "note", None),
        ({"note": ""}, "note", "This field is required."),
        ({"note": "   "}, "note", "This field is required."),
        ({"note": "n" * 2001}, "note", "Use at most 2000 characters (this has 2001)."),
        ({"file": None}, "file", None),
        (
            {"name": "disclosure.exe", "data": EXE},
            "file",
            "“disclosure.exe” is not a PDF, PNG or JPEG file; upload a scan or a PDF of it.",
        ),
        ({"name": "disclosure.docx", "data": PDF}, "file", None),
        ({"name": "disclosure", "data": PDF}, "file", None),
        (
            {"name": "x.pdf", "data": EXE},
            "file",
            "The file's content is not a PDF although its name says so; upload the document "
            "itself.",
        ),
        ({"name": "x.pdf", "data": PNG}, "file", None),
        ({"name": "x.png", "data": PDF}, "file", None),
        ({"name": "x.jpg", "data": PNG}, "file", None),
        ({"name": "x.pdf", "data": b""}, "file", "The file is empty."),
        ({"name": "x.pdf", "data": b"%PD"}, "file", None),
    ],
)
def test_a_bad_note_or_document_is_a_422_and_nothing_is_kept(
    world, api_as, held, uploads, override, field, detail
):
    # given
    pid, referral = held
    client = api_as(world.admin)
    before = _state(referral)
    # when
    r = _release(client, pid, referral.pk, **override)
    # then
    assert r.status_code == 422, r.content
    assert r.json()["field"] == field
    if detail is not None:
        assert r.json()["detail"] == detail
    assert _state(referral) == before
    assert _files(uploads) == []


def test_a_document_above_the_size_limit_is_refused(world, api_as, held, uploads, settings):
    # given: a 1 MB limit
    settings.KAM_MAX_UPLOAD_BYTES = 1024 * 1024
    pid, referral = held
    client = api_as(world.admin)
    big = PDF + b"0" * (1024 * 1024 - len(PDF) + 1)
    before = _state(referral)
    # when
    r = _release(client, pid, referral.pk, data=big)
    # then
    assert r.status_code == 422
    assert (r.json()["field"], r.json()["detail"]) == (
        "file",
        "The file is larger than 1 MB; upload a smaller scan.",
    )
    assert _state(referral) == before
    assert _files(uploads) == []
    # exactly at the limit is fine
    r = _release(client, pid, referral.pk, data=big[:-1])
    assert r.status_code == 200, r.content


def test_a_path_in_the_file_name_is_dropped(world, api_as, held, uploads):
    pid, referral = held
    r = _release(api_as(world.admin), pid, referral.pk, name="..\\..\\etc\\同意函.pdf")
    assert r.status_code == 200, r.content
    assert r.json()["disclosure_file"] == "同意函.pdf"
    assert _files(uploads) == [f"disclosures/referral-{referral.pk}.pdf"]


def test_a_released_commission_cannot_be_released_again(world, api_as, held, uploads):
    # given
    pid, referral = held
    client = api_as(world.admin)
    assert _release(client, pid, referral.pk).status_code == 200
    before = _state(referral)
    # when
    r = _release(client, pid, referral.pk, note="again", data=PDF + b"v2")
    # then
    assert r.status_code == 409
    assert r.json()["detail"] == "This commission was already released."
    assert _state(referral) == before
    assert (uploads / "disclosures" / f"referral-{referral.pk}.pdf").read_bytes() == PDF


def test_a_referral_that_is_not_held_has_nothing_to_release(world, api_as, lisi, uploads):
    # given: the indirect referral at another customer
    referral = lisi["referrals"]["d30"]
    client = api_as(world.admin)
    before = _state(referral)
    # when
    r = _release(client, lisi["partner"].pk, referral.pk)
    # then
    assert r.status_code == 409
    assert r.json()["detail"] == "This referral is not held: there is nothing to release."
    assert _state(referral) == before
    assert _files(uploads) == []


def test_a_referral_of_another_partner_is_a_404(world, api_as, lisi, wangwu, uploads):
    r = _release(api_as(world.admin), wangwu["partner"].pk, lisi["referrals"]["d40"].pk)
    assert r.status_code == 404
    assert r.json()["detail"] == "No such referral of this partner."


# --- the disclosure document ---------------------------------------------------------------


@pytest.fixture
def released(world, api_as, held, uploads):
    pid, referral = held
    assert _release(api_as(world.admin), pid, referral.pk).status_code == 200
    return pid, referral


@pytest.mark.parametrize(
    ("viewer", "expected"),
    [
        ("rep_a", 200),
        ("manager_east", 200),
        ("admin", 200),
        ("rep_b", 404),
        ("rep_c", 404),
        ("manager_west", 404),
        (None, 401),
    ],
)
def test_the_disclosure_is_served_to_who_sees_the_partner(
    world, api_as, released, viewer, expected
):
    # given
    pid, referral = released
    # when
    r = api_as(None if viewer is None else getattr(world, viewer)).get(
        f"partners/{pid}/referrals/{referral.pk}/disclosure"
    )
    # then
    assert r.status_code == expected
    if expected == 200:
        assert b"".join(r.streaming_content) == PDF
        assert r["Content-Type"] == "application/pdf"
        assert r["Content-Disposition"].startswith("attachment;")
        assert "%E5%90%8C%E6%84%8F%E5%87%BD.pdf" in r["Content-Disposition"]  # 同意函.pdf


def test_a_referral_without_a_disclosure_has_no_document(world, api_as, lisi, uploads):
    referral = lisi["referrals"]["d60"]
    r = api_as(world.admin).get(f"partners/{lisi['partner'].pk}/referrals/{referral.pk}/disclosure")
    assert r.status_code == 404
    assert r.json()["detail"] == "No disclosure document was recorded for this referral."


def test_a_document_missing_from_the_data_folder_is_a_404(world, api_as, released, uploads):
    pid, referral = released
    (uploads / "disclosures" / f"referral-{referral.pk}.pdf").unlink()
    r = api_as(world.admin).get(f"partners/{pid}/referrals/{referral.pk}/disclosure")
    assert r.status_code == 404
    assert r.json()["detail"] == "The disclosure document is missing from the data folder."


def test_the_release_shows_on_the_referral_lists(world, api_as, released):
    pid, referral = released
    rows = {x["id"]: x for x in api_as(world.rep_a).get(f"partners/{pid}/referrals").json()}
    row = rows[referral.pk]
    assert (row["conflict"], row["held"], row["released_by"], row["disclosure_file"]) == (
        True,
        False,
        "admin",
        "同意函.pdf",
    )
    assert Referral.objects.get(pk=referral.pk).disclosure_note == NOTE
