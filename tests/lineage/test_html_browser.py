"""The HTML graph in a real headless Chromium with the network off: every node shows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from lineage_steps import Steps

from steplineage.lineage.graph import LineageGraph

pytestmark = pytest.mark.browser

XSS = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'


def open_page(chromium: Any, path: Path) -> tuple[Any, Any, dict[str, list[str]]]:
    """Open ``path`` offline; record any request other than the file, errors and dialogs."""
    context = chromium.new_context(offline=True, viewport={"width": 1400, "height": 850})
    seen: dict[str, list[str]] = {"requests": [], "errors": [], "dialogs": []}
    page_url = path.as_uri()

    def route(r: Any) -> None:
        if r.request.url == page_url:
            r.continue_()
        else:  # nothing else may be fetched: no CDN, no fonts, no images
            seen["requests"].append(r.request.url)
            r.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.on("pageerror", lambda exc: seen["errors"].append(str(exc)))
    page.on("console", lambda m: m.type == "error" and seen["errors"].append(m.text))
    page.on("dialog", lambda d: (seen["dialogs"].append(d.message), d.dismiss()))
    page.goto(page_url)
    page.wait_for_selector("g.slg-node")
    return context, page, seen


def test_graph_renders_every_node_offline(chromium: Any, steps: Steps, tmp_path: Path) -> None:
    steps.step("load", [], ["a"])
    steps.step("left", ["a"], ["b"])
    steps.step("right", ["a"], ["c"])
    steps.step("join", ["b", "c"], ["d"])
    steps.step("broken", ["d"], ["e"], fail=True)
    steps.step("load", [], ["a"])  # a moves on: left, right, join are now stale
    stale_items = steps.cat.lineage.stale()
    stale = {f"execution:{s.execution_id}" for s in stale_items}
    # the whole picture: what d came from and what it fed (a failed step)
    graph = steps.cat.lineage.upstream(steps.v("d"))
    down = steps.cat.lineage.downstream(steps.v("d"))
    nodes = {n.id: n for n in [*graph.nodes, *down.nodes]}
    merged = LineageGraph(root=graph.root, direction="both", nodes=list(nodes.values()),
                          edges=list({(e.source, e.target, e.relation): e
                                      for e in [*graph.edges, *down.edges]}.values()))
    html_path = tmp_path / "lineage.html"
    html_path.write_text(merged.to_html(stale=stale))

    context, page, seen = open_page(chromium, html_path)
    try:
        shown = page.locator("g.slg-node")
        assert shown.count() == len(merged.nodes)
        assert sorted(shown.evaluate_all("els => els.map(e => e.dataset.nodeId)")) == \
            sorted(nodes)
        assert page.locator("path.slg-edge").count() == len(merged.edges)
        # after "fit", every node lies inside the drawing area
        area = page.locator("svg.slg-svg").bounding_box()
        for i in range(shown.count()):
            box = shown.nth(i).bounding_box()
            assert box is not None and box["width"] > 20
            assert area["x"] <= box["x"] and box["x"] + box["width"] <= area["x"] + area["width"]
            assert area["y"] <= box["y"] and box["y"] + box["height"] <= area["y"] + area["height"]
        texts = shown.locator("text.slg-label").all_text_contents()
        assert sorted(texts) == sorted(n.label for n in merged.nodes)
        # failed and stale nodes are marked
        assert page.locator(f'g.slg-failed[data-node-id="{steps.e("broken")}"]').count() == 1
        assert page.locator("g.slg-stale").count() == len(stale & set(nodes))
        assert page.locator("g.slg-stale").count() >= 2
        # clicking a node shows its details
        page.locator(f'g[data-node-id="{steps.v("d")}"]').click()
        details = page.locator("aside.slg-details")
        assert details.locator("h2").text_content() == "db:d"
        assert steps.v("d") in details.text_content()
        assert page.locator("path.slg-edge.slg-edge-on").count() == 2  # join -> d -> broken
        page.screenshot(path=str(tmp_path / "lineage.png"))
        # zoom and pan move the drawing
        before = page.locator("g.slg-viewport").get_attribute("transform")
        page.get_by_role("button", name="+").click()
        assert page.locator("g.slg-viewport").get_attribute("transform") != before
        assert seen == {"requests": [], "errors": [], "dialogs": []}
    finally:
        context.close()
    assert (tmp_path / "lineage.png").stat().st_size > 10_000


def test_names_with_markup_are_shown_as_text(chromium: Any, steps: Steps, tmp_path: Path) -> None:
    steps.step(XSS, ["a"], [XSS.replace("/", "_")[:60]], parameters={"x": XSS})
    graph = steps.cat.lineage.downstream(steps.v("a"))
    html_path = tmp_path / "xss.html"
    html_path.write_text(graph.to_html(title=XSS))
    context, page, seen = open_page(chromium, html_path)
    try:
        assert page.evaluate("window.__pwned") is None
        assert page.locator("img").count() == 0
        assert page.locator("script").count() == 2
        assert page.locator("h1").text_content() == XSS
        node = page.locator(f'g[data-node-id="{steps.e(XSS)}"]')
        node.click()
        assert page.locator("aside.slg-details h2").text_content() == XSS
        assert page.evaluate("window.__pwned") is None
        assert seen == {"requests": [], "errors": [], "dialogs": []}
        page.screenshot(path=str(tmp_path / "xss.png"))
    finally:
        context.close()
