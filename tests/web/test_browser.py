"""The web app in a real browser, served by ``steplineage ui`` (token, cookie login).

Screenshots go to the test's tmp dir (``pytest --basetemp=...`` to keep them).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from web_fixtures import XSS, XSS_FILE, Known, UiServer, expect
from web_fixtures import known, ui_server  # noqa: F401 - fixtures

pytestmark = pytest.mark.browser


@pytest.fixture
def page(chromium: Any, ui_server: UiServer) -> Any:
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(ui_server.url)  # /login?token=... sets the cookie and redirects to the explorer
    yield page
    context.close()
    assert errors == [], errors


def open_run_graph(page: Any, ui_server: UiServer) -> None:
    page.goto(f"{ui_server.base}/dags/sl_web_a/runs/manual__1")
    page.wait_for_selector("#sl-graph .slg-node")


def test_run_graph_click_shows_checksum(page: Any, ui_server: UiServer, known: Known,
                                        tmp_path: Path) -> None:
    assert page.title().startswith("steplineage")  # the login redirect landed on the explorer
    open_run_graph(page, ui_server)
    labels = page.locator("#sl-graph .slg-node .slg-label").all_text_contents()
    assert {"extract", "files:raw.csv", "files:clean.csv", "Model/model.json"} <= set(labels)
    page.screenshot(path=str(tmp_path / "standalone-run.png"))

    page.locator(".slg-node", has_text="files:raw.csv").click()
    details = page.locator(".slg-details")
    details.get_by_text(known.hashes["raw.csv"], exact=True).wait_for()
    assert "files:raw.csv" in details.locator("h2").text_content()

    page.locator(".slg-node.slg-kind-asset").click()
    details.get_by_text(known.hashes["model"], exact=True).wait_for()

    # an execution: the panel adds the API's details (history, files with checksums)
    page.locator(".slg-node", has_text="extract").click()
    details.locator(".slg-extra h3", has_text="Status history").wait_for()
    extra = details.locator(".slg-extra").text_content()
    assert known.hashes["clean.csv"] in extra and "md5 " in extra
    page.screenshot(path=str(tmp_path / "standalone-details.png"))


def test_upstream_toggle_depth_and_search(page: Any, ui_server: UiServer, known: Known) -> None:
    page.goto(f"{ui_server.base}/executions/{known.ids['report']}")
    page.wait_for_selector("#sl-graph .slg-node")
    page.locator(".slg-node", has_text="files:clean.csv").click()
    page.click("#sl-upstream")
    expect(page.locator("#sl-graph-status")).to_contain_text("upstream of version:")
    labels = set(page.locator("#sl-graph .slg-label").all_text_contents())
    assert "extract" in labels and "report" not in labels  # upstream only

    page.fill("#sl-depth", "0")
    page.dispatch_event("#sl-depth", "change")
    expect(page.locator("#sl-graph .slg-node")).to_have_count(1)

    page.fill("#sl-search", known.hashes["raw.csv"][:12])
    hit = page.locator(".sl-hit", has_text="files:raw.csv")
    hit.click()
    expect(page.locator("#sl-graph .slg-root .slg-label")).to_have_text("files:raw.csv")


def test_script_payloads_render_as_text(page: Any, ui_server: UiServer, known: Known,
                                        tmp_path: Path) -> None:
    page.goto(f"{ui_server.base}/executions/{known.ids['xss']}")
    page.wait_for_selector("#sl-graph .slg-node")
    assert page.locator("h1").text_content().startswith(XSS)
    # stored in the status message, parameters and the output ref name: all shown as text
    body = page.locator("main").text_content()
    assert body.count(XSS) >= 3 and XSS_FILE in body
    page.locator(".slg-node.slg-kind-execution").first.click()
    page.locator(".slg-extra h3", has_text="Parameters").wait_for()
    assert XSS in page.locator(".slg-details").text_content()
    page.fill("#sl-search", "onerror")
    page.locator(".sl-hit").first.wait_for()
    assert page.locator("script").count() == 2 + 1  # our two scripts and the JSON config
    assert page.locator("img").count() == 0
    assert page.evaluate("window.__pwned") is None
    page.screenshot(path=str(tmp_path / "standalone-xss.png"), full_page=True)
