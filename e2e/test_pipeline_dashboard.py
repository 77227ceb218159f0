"""A sales manager reads the pipeline dashboard (路标管理, SPEC §8) in Chinese, then English.

The demo manager opens the dashboard from the navigation: both funnels, the forecast and
the progress per person are drawn. A click on a bar of the buyer-stage funnel lists the
deals of that stage in the drill-down dialog; a click on the stalled count lists the
stalled deals, and a deal's link leads to its opportunity page. Back on the dashboard in
English, the charts are drawn again. Screenshots:
artifacts/screenshots/pipeline-dashboard-zh.png and pipeline-dashboard-en.png."""

from __future__ import annotations

import io
import re

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

MANAGER = ("manager", "kam-demo-manager")
CHARTS = ("funnel-stage-chart", "funnel-buyer-chart", "forecast-chart", "rep-chart")


def expect_chart_drawn(page, testid: str) -> None:
    chart = page.get_by_test_id(testid)
    chart.scroll_into_view_if_needed()
    canvas = chart.locator("canvas").first
    expect(canvas).to_be_attached()
    box = canvas.bounding_box()
    assert box is not None and box["width"] > 200 and box["height"] > 100, (
        f"the {testid} has no real size: {box}"
    )


def bar_centre(page, element_id: str, index: int) -> dict:
    """Where bar `index` of a horizontal bar chart is drawn, and what it stands for."""
    return page.evaluate(
        """([id, index]) => {
            const chart = window.echarts.getInstanceByDom(document.getElementById(id));
            const value = chart.getOption().series[0].data[index].value;
            const [x, y] = chart.convertToPixel({gridIndex: 0}, [value / 2, index]);
            return {x, y, value};
        }""",
        [element_id, index],
    )


def test_the_manager_reads_the_dashboard_and_drills_down(
    page, login_as, switch_language, screenshot
):
    from kam.demo.loader import load_demo

    load_demo(out=io.StringIO())

    # given the demo manager, signed in, the UI in Chinese
    login_as(*MANAGER)
    switch_language("zh-hans")

    # when they open the dashboard from the navigation
    with page.expect_navigation():
        page.get_by_test_id("nav-pipeline").click()
    expect(page.get_by_test_id("pipeline-page")).to_be_visible()
    # then both funnels, the forecast and the progress per person are drawn
    for testid in CHARTS:
        expect_chart_drawn(page, testid)
    expect(page.get_by_test_id("stalled-row").first).to_be_visible()
    page.evaluate("window.scrollTo(0, 0)")
    screenshot("pipeline-dashboard-zh")

    # when they click the bar of the buyer's "purchase criteria" stage (the 4th)
    dialog = page.get_by_test_id("pipeline-drill-dialog")
    bar = bar_centre(page, "funnel-buyer", 3)
    assert bar["value"] > 0, "the demo has no open deal at the purchase-criteria stage"
    page.get_by_test_id("funnel-buyer-chart").click(position={"x": bar["x"], "y": bar["y"]})
    # then the dialog lists that stage's deals
    expect(dialog).to_be_visible()
    expect(page.get_by_test_id("drill-title")).to_contain_text("建立采购标准")
    expect(page.get_by_test_id("drill-row")).to_have_count(min(bar["value"], 25))
    page.get_by_test_id("drill-close").click()
    expect(dialog).to_be_hidden()

    # when they click the number of stalled deals
    stalled = page.get_by_test_id("kpi-attention").locator("a.kpi-stalled")
    count = int(stalled.inner_text())
    assert count > 0, "the demo has no stalled deal"
    stalled.click()
    # then the stalled deals are listed with links to them
    expect(dialog).to_be_visible()
    expect(page.get_by_test_id("drill-list")).to_have_attribute("data-figure", "stalled")
    expect(page.get_by_test_id("drill-row")).to_have_count(min(count, 25))
    first = page.get_by_test_id("drill-deal").first
    name = first.inner_text()

    # when they follow the first one
    with page.expect_navigation():
        first.click()
    # then its opportunity page opens
    expect(page).to_have_url(re.compile(r"/opportunities/\d+/$"))
    expect(page.get_by_test_id("opportunity-name")).to_contain_text(name)

    # when they come back to the dashboard and switch to English
    page.goto("/pipeline/")
    switch_language("en")
    # then the charts are drawn again, in English
    expect(page.get_by_role("heading", name="Pipeline dashboard")).to_be_visible()
    for testid in CHARTS:
        expect_chart_drawn(page, testid)
    page.evaluate("window.scrollTo(0, 0)")
    screenshot("pipeline-dashboard-en")
    assert page.kam_errors == []
