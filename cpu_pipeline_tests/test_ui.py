"""The Dagster UI as its users use it, in a real (headless) Chromium: the lineage graph, a
materialisation of everything launched from it, the write-back's metadata, and the price history
before and after its first snapshot.

Screenshots land in artifacts/ (git-ignored): lineage.png, run_success.png, history_before.png and
history_snapshots.png, among others; docs/ keeps copies of those the README and the docs pages show.
"""

import contextlib
import time

import pytest
from playwright.sync_api import expect, sync_playwright

from cpu_pipeline_tests.needs import CHROMIUM
from cpu_pipeline_tests.postgres import scalar
from cpu_pipeline_tests.served import LOCATION, ROOT, served_stack
from cpu_pipeline_tests.test_definitions import EXPECTED_DEPENDENCIES, HISTORY_DEPENDENCIES

ARTIFACTS = ROOT / "artifacts"
GROUP_PAGE = "/locations/cpu_pipeline.definitions/asset-groups/cpu_metrics"
SNAPSHOT_SENSOR = "snapshot_after_recalculation"
LOADED = 60_000  # ms: how long a page of the UI may take to show its data on a loaded machine

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


@contextlib.contextmanager
def chromium_page():
    """A page of a headless Chromium, 1600 x 1000, Dagster's first-visit dialog dismissed whenever it shows."""
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
            # Every wait gets the deadline of a loaded machine: actions (page) and assertions (expect), whose
            # own default of 5 s failed these tests under a load of about 10.
            page.set_default_timeout(LOADED)
            expect.set_options(timeout=LOADED)
            # Dagster's first-visit newsletter dialog can come up at any moment of a page's life, and
            # covers what a test clicks: dismissed whenever it shows, before each action.
            page.add_locator_handler(page.get_by_role("button", name="Skip"), lambda skip: skip.click())
            yield page
        finally:
            browser.close()


@pytest.fixture
def page(served):
    with chromium_page() as page:
        yield page


def test_the_lineage_graph_shows_the_five_assets_and_their_edges(served, page):
    page.goto(served.stack.url + GROUP_PAGE)
    for name in EXPECTED_DEPENDENCIES:
        expect(page.get_by_text(name, exact=True).first).to_be_visible()
    # The group's own six edges, one from a link node for each of Deal Brain's tables (group `deal_brain`)
    # to the loader that reads it, and one to a link node for each input of the history group's assets.
    outgoing = [
        (parent, child)
        for child, parents in HISTORY_DEPENDENCIES.items()
        for parent in parents
        if parent in EXPECTED_DEPENDENCIES
    ]
    edges_in = {(parent, child) for child, parents in EXPECTED_DEPENDENCIES.items() for parent in parents}
    expected = {(parent, child) for parent, child in edges_in if parent in EXPECTED_DEPENDENCIES}
    incoming = edges_in - expected
    expected_count = len(expected) + len(incoming) + len(outgoing)
    expect(page.locator('path[stroke="var(--color-lineage-edge)"]')).to_have_count(expected_count)
    edges = [tuple(edge) for edge in page.evaluate(EDGES_JS, list(EXPECTED_DEPENDENCIES))]
    assert {edge for edge in edges if None not in edge} == expected
    assert sorted(target for source, target in edges if source is None) == sorted(child for _, child in incoming)
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
    for key in ("cpus_total", "cpus_written", "cpus_in_error", "error_rate_percent", "best_value"):
        expect(page.get_by_text(key, exact=True).first).to_be_visible()
    page.screenshot(path=ARTIFACTS / "cpu_analytics_metadata.png")
    # The ten best-value CPUs inline (a short Markdown value), the rule above them, n and confidence beside.
    best_value = page.get_by_role("row").filter(has=page.get_by_text("best_value", exact=True))
    best_value.scroll_into_view_if_needed()
    expect(best_value.get_by_text("ranked only among CPUs with at least")).to_be_visible()
    expect(best_value.get_by_role("columnheader")).to_have_text(["name", "$/multi", "percentile", "n", "confidence"])
    confidences = best_value.locator("tbody tr td:nth-child(5)").all_inner_texts()
    assert len(confidences) == 10 and set(confidences) <= {"high", "medium"}, confidences
    _assert_names_on_one_line(best_value)
    _assert_columns_fit(best_value)
    page.screenshot(path=ARTIFACTS / "best_value.png")


def _assert_names_on_one_line(entry) -> None:
    """Every CPU name of a metadata entry's table on one line: its cell no taller than the header's."""
    heights = entry.evaluate(
        """entry => {
          const column = [...entry.querySelectorAll('th')].findIndex(th => th.textContent.trim() === 'name');
          const line = entry.querySelector('th').getBoundingClientRect().height;
          return [...entry.querySelectorAll('tbody tr')].map(tr => tr.children[column].getBoundingClientRect().height / line);
        }"""
    )
    assert heights and max(heights) < 1.5, heights


def _assert_columns_fit(entry) -> None:
    """Every column of a metadata entry's table inside the entry's value cell, none cut off at its edge."""
    overflow = entry.evaluate(
        """entry => {
          const edge = entry.lastElementChild.getBoundingClientRect().right;
          return [...entry.querySelectorAll('th')].map(th => th.getBoundingClientRect().right - edge);
        }"""
    )
    assert overflow and max(overflow) <= 0, overflow


@pytest.fixture
def fresh_stack(tmp_path_factory, alert_inbox):
    """A served stack of its own, on which nothing has run yet: the shared one's history fills as tests run."""
    with served_stack(tmp_path_factory, alert_inbox) as served:
        yield served


def _snapshot_skip_reasons(served) -> list[str]:
    selector = {"repositoryLocationName": LOCATION, "repositoryName": "__repository__", "sensorName": SNAPSHOT_SENSOR}
    state = served.graphql(
        """query($selector: SensorSelector!) { sensorOrError(sensorSelector: $selector) {
             ... on Sensor { sensorState { ticks(limit: 20) { skipReason } } } } }""",
        selector=selector,
    )["sensorOrError"]["sensorState"]
    return [tick["skipReason"] or "" for tick in state["ticks"]]


def test_the_history_has_no_phantom_partitions_and_materialize_all_takes_todays_snapshot(fresh_stack):
    served = fresh_stack
    history_page = served.stack.url + "/assets/cpu_analytics_history"
    with chromium_page() as page:
        # Before the first snapshot: nothing to show, and no Partitions tab, where each day from a fixed
        # first one was listed as "Missing".
        page.goto(history_page)
        expect(page.get_by_text("Never materialized").first).to_be_visible()
        expect(page.get_by_text("Partitions", exact=True)).to_have_count(0)
        expect(page.get_by_text("Missing")).to_have_count(0)
        page.screenshot(path=ARTIFACTS / "history_before.png")

        # The global graph's "Materialize all" launches every asset at once, with no partition dialog.
        page.goto(served.stack.url + "/asset-groups")
        page.get_by_role("button", name="Materialize all").click()
        expect(page.get_by_text("Launched run")).to_be_visible()
        page.get_by_role("link", name="View").first.click()
        expect(page.get_by_text("Success", exact=True).first).to_be_visible(timeout=300_000)
        run_id = page.url.rstrip("/").rsplit("/", 1)[-1]

        # The run took today's snapshot itself; the sensor, having seen it, takes no second one.
        deadline = time.monotonic() + 180
        while not any(run_id in reason for reason in _snapshot_skip_reasons(served)):
            assert time.monotonic() < deadline, served.log("daemon")[-3000:]
            time.sleep(2)
        today = scalar(served.app_url, "SELECT current_date").isoformat()
        # The asset's events: one snapshot, its day beside it, still no day shown as missing.
        page.goto(history_page + "?view=events")
        expect(page.get_by_text(today).first).to_be_visible()
        expect(page.get_by_text("Missing")).to_have_count(0)
        page.screenshot(path=ARTIFACTS / "history_snapshots.png")  # copied to docs/ for docs/price_history.md
    materializations = served.graphql(
        """{ assetOrError(assetKey: {path: ["cpu_analytics_history"]}) { ... on Asset {
             assetMaterializations { runId partition } definition { isPartitioned } } } }"""
    )["assetOrError"]
    assert materializations["definition"]["isPartitioned"] is False
    assert materializations["assetMaterializations"] == [{"runId": run_id, "partition": None}]
    days = "SELECT array_agg(DISTINCT day::text) FROM cpu_pipeline.cpu_analytics_history"
    assert scalar(served.app_url, days) == [today]


def test_the_catalogue_finds_a_named_cpu_and_the_assets_show_their_column_schema(served, page):
    page.goto(served.stack.url + GROUP_PAGE)
    page.get_by_role("button", name="Materialize all").click()
    expect(page.get_by_text("Launched run")).to_be_visible()
    page.get_by_role("link", name="View").first.click()
    expect(page.get_by_text("Success", exact=True).first).to_be_visible(timeout=180_000)
    name, good = scalar(served.app_url, "SELECT ARRAY[name, price_target_good::text] FROM cpu ORDER BY id DESC LIMIT 1")

    # The whole catalogue, one row a CPU: the operator finds theirs by name, with its targets and rating.
    page.goto(served.stack.url + "/assets/cpu_analytics")
    for key in ("catalogue", "cpus_by_rating_and_confidence", "cpus_rated", "error_rate_percent"):
        expect(page.get_by_text(key, exact=True).first).to_be_visible()
    catalogue = page.get_by_role("row").filter(has=page.get_by_text("catalogue", exact=True))
    # Listed inline from its top, by name (a table value: a Markdown dialog opened at its bottom).
    catalogue.get_by_role("columnheader").first.scroll_into_view_if_needed()
    expect(catalogue.get_by_role("columnheader")).to_have_text(["name", "good", "n", "confidence"])
    expect(catalogue.locator("tbody tr").first).to_be_in_viewport()
    names = [cell.replace("\u00a0", " ").strip() for cell in catalogue.locator("tbody tr td:nth-child(1)").all_inner_texts()]
    assert names == sorted(names) and len(names) == scalar(served.app_url, "SELECT count(*) FROM cpu")
    _assert_names_on_one_line(catalogue)
    _assert_columns_fit(catalogue)
    page.screenshot(path=ARTIFACTS / "cpu_catalogue.png")  # docs/ keeps a copy chosen by hand
    row = catalogue.locator("tbody tr").filter(has=page.get_by_text(name, exact=True))
    expect(row).to_have_count(1)
    row.scroll_into_view_if_needed()
    expect(row).to_contain_text(f"{float(good):g}")
    page.screenshot(path=ARTIFACTS / "cpu_catalogue_found.png")

    # A loaded table's column schema, each column with its type.
    page.goto(served.stack.url + "/assets/cpus")
    expect(page.get_by_text("cpu_mark_multi", exact=True).first).to_be_visible()
    expect(page.get_by_text("PassMark multi-thread score").first).to_be_visible()
    page.screenshot(path=ARTIFACTS / "cpus_column_schema.png")  # docs/ keeps a copy chosen by hand
