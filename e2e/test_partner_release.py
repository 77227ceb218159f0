"""An administrator releases a commission held for a conflict of interest (SPEC §7, §11).

The demo admin opens 合作伙伴 (Partners) from the navigation and 李四's page: his
statement for the settled half-year is SPEC §7's worked example, all of it held because
his employer (苏州博远) is the customer of his direct referrals — the legal reason is on
the page. The admin releases the commission on the 40,000 deal with the customer's
written disclosure (a note and a PDF): the page then shows it released with the document
to download, 2,000.00 earned, and the other deal still held. In English the legal reason
reads in English. Screenshots: artifacts/screenshots/partner-release-zh.png and
partner-release-en.png."""

from __future__ import annotations

import io
import re

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ADMIN = ("admin", "kam-demo-admin")
DEAL = "德国精密虎钳及零点快换夹具"  # 40,000, fully collected: 2,000 commission
NOTE = "苏州博远总经理黄德明于7月1日书面确认知悉李四的推荐关系并同意支付佣金。"


def test_admin_releases_a_held_commission_with_the_disclosure(
    page, login_as, screenshot, switch_language
):
    from kam.demo.loader import load_demo
    from kam.partners.models import Referral

    load_demo(out=io.StringIO())

    # given the demo admin, signed in, the UI in Chinese
    login_as(*ADMIN)
    switch_language("zh-hans")

    # when they open 李四 from the partner list
    page.get_by_test_id("nav-partners").click()
    expect(page.get_by_test_id("partner-row")).to_have_count(1)
    with page.expect_navigation():
        page.get_by_role("link", name="李四").first.click()

    # then the statement is the worked example, held, with the legal reason shown
    expect(page.get_by_test_id("partner-name")).to_contain_text("李四")
    expect(page.get_by_test_id("figure-held")).to_contain_text("6,020.00")
    expect(page.get_by_test_id("figure-volume_base")).to_contain_text("102,000.00")
    expect(page.get_by_test_id("figure-volume_bonus")).to_contain_text("1,020.00")
    expect(page.get_by_test_id("figure-earned")).to_contain_text("0.00")
    held_rows = page.locator('[data-testid="referral-row"][data-held="true"]')
    expect(held_rows).to_have_count(2)
    expect(page.get_by_test_id("statement-flags")).to_contain_text("反不正当竞争法")

    # when the admin releases the commission on the 40,000 deal with the disclosure
    row = held_rows.filter(has_text=DEAL)
    row.get_by_test_id("release-open").click()
    dialog = page.locator("dialog[open]")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("反不正当竞争法")
    dialog.get_by_test_id("release-note").fill(NOTE)
    dialog.get_by_test_id("release-file").set_input_files(
        files=[{"name": "知情同意函.pdf", "mimeType": "application/pdf",
                "buffer": b"%PDF-1.7\n1 0 obj <<>> endobj\n%%EOF\n"}]
    )  # fmt: skip
    with page.expect_navigation():
        dialog.get_by_test_id("release-submit").click()

    # then it is released with the document, and only the other deal is still held
    released = page.locator('[data-testid="referral-row"]').filter(has_text=DEAL)
    expect(released.get_by_test_id("referral-released")).to_be_visible()
    expect(released.get_by_test_id("disclosure-link")).to_be_visible()
    expect(page.locator('[data-testid="referral-row"][data-held="true"]')).to_have_count(1)
    expect(page.get_by_test_id("figure-earned")).to_contain_text("2,000.00")
    expect(page.get_by_test_id("figure-held")).to_contain_text("4,020.00")
    screenshot("partner-release-zh")

    # and the release is on record with the note, by the admin
    referral = Referral.objects.get(opportunity__name=DEAL)
    assert referral.released_by.username == "admin"
    assert referral.disclosure_note == NOTE
    assert referral.disclosure_file_name == "知情同意函.pdf"

    # when the admin reads the page in English
    switch_language("en")
    # then the legal reason is in English
    expect(page.get_by_test_id("statement-flags")).to_contain_text(
        re.compile("Anti-Unfair Competition Law")
    )
    expect(page.get_by_test_id("nav-partners")).to_have_text("Partners")
    screenshot("partner-release-en")
