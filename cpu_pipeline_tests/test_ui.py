"""The Dagster UI as its users use it, in a real (headless) Chromium: the lineage graph, a
materialisation of everything launched from it, and the write-back's metadata.

Screenshots land in artifacts/ (git-ignored): lineage.png and run_success.png.
"""

import pytest
from playwright.sync_api import expect, sync_playwright

from cpu_pipeline_tests.needs import CHROMIUM
from cpu_pipeline_tests.served import ROOT
from cpu_pipeline_tests.test_definitions import EXPECTED_DEPENDENCIES, HISTORY_DEPENDENCIES

ARTIFACTS = ROOT / "artifacts"
GROUP_PAGE = "/locations/cpu_pipeline.definitions/asset-groups/cpu_metrics"

# Each edge's ends, matched to the node cards they touch: (source, target) by asset name.
EDGES_JS = """names => {
  const cards = {};
  for (const element of document.querySelectorAll('body *')) {
    if (element.children.length || !names.includes(element.textContent.trim())) continue;
    let card = element;
    while (card && card.getBoundingClientRect().height < 60) card = card.parentElement;
    if (card) cards[element.textContent.trim()] = card.getBoundingClientRect();
  }
  const touching = (point, side) => Object.keys(cards).find(name => {
    const box = cards[name];
    return Math.abs(point.x - box[side]) < 25 && point.y >= box.top - 5 && point.y <= box.bottom + 5;
  });
  return [...document.querySelectorAll('path[stroke="var(--color-lineage-edge)"]')].map(path => {
    const matrix = path.getScreenCTM();
    const start = path.getPointAtLength(0).matrixTransform(matrix);
    const end = path.getPointAtLength(path.getTotalLength()).matrixTransform(matrix);
    return [touching(start, 'right'), touching(end, 'left')];
  });
}"""


@pytest.fixture
def page(served):
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            page.set_default_timeout(60_000)
            # Dagster's first-visit newsletter dialog can come up at any moment of a page's life, and
            # covers what a test clicks: dismissed whenever it shows, before each action.
            page.add_locator_handler(page.get_by_role("button", name="Skip"), lambda skip: skip.click())
            yield page
        finally:
            browser.close()


def test_the_lineage_graph_shows_the_five_assets_and_their_edges(served, page):
    page.goto(served.stack.url + GROUP_PAGE)
    for name in EXPECTED_DEPENDENCIES:
        expect(page.get_by_text(name, exact=True).first).to_be_visible()
    # The group's own six edges, plus one to a link node for each input of the history group's assets.
    outgoing = [
        (parent, child)
        for child, parents in HISTORY_DEPENDENCIES.items()
        for parent in parents
        if parent in EXPECTED_DEPENDENCIES
    ]
    expected = {(parent, child) for child, parents in EXPECTED_DEPENDENCIES.items() for parent in parents}
    expect(page.locator('path[stroke="var(--color-lineage-edge)"]')).to_have_count(len(expected) + len(outgoing))
    edges = [tuple(edge) for edge in page.evaluate(EDGES_JS, list(EXPECTED_DEPENDENCIES))]
    assert {edge for edge in edges if edge[1] is not None} == expected
    assert sorted(source for source, target in edges if target is None) == sorted(source for source, _ in outgoing)
    page.screenshot(path=ARTIFACTS / "lineage.png")


def test_materialize_all_from_the_ui_succeeds_and_shows_the_metadata(served, page):
    page.goto(served.stack.url + GROUP_PAGE)
    page.get_by_role("button", name="Materialize all").click()
    expect(page.get_by_text("Launched run")).to_be_visible()
    page.get_by_role("link", name="View").first.click()
    expect(page.get_by_text("Success", exact=True).first).to_be_visible(timeout=180_000)
    page.screenshot(path=ARTIFACTS / "run_success.png")

    page.goto(served.stack.url + "/assets/cpu_analytics")
    for key in ("cpus_total", "cpus_written", "cpus_in_error", "error_rate", "best_value"):
        expect(page.get_by_text(key, exact=True).first).to_be_visible()
    page.get_by_text("[Show Markdown]").first.click()
    expect(page.get_by_role("dialog").get_by_text("dollar_per_mark_multi")).to_be_visible()
    page.screenshot(path=ARTIFACTS / "cpu_analytics_metadata.png")
