"""How fast the lineage web app serves and draws a 2,000-node lineage.

Builds a layered pipeline in a fresh embedded SQLite catalog (40 layers of 25
steps, each reading two outputs of the layer before, then one report step),
then measures the report's full upstream lineage (~2,000 nodes):

* API: ``GET /api/lineage?node=<last step>&direction=upstream&depth=...`` through
  the app in-process (FastAPI TestClient; median of several runs), with and
  without the stale computation;
* browser: load the standalone page in headless Chromium and time from
  navigation to the rendered SVG (``data-render-ms`` set by the page: fetch +
  layout + draw), plus the renderer alone on the same JSON.

Targets (issue 5): API < 300 ms, render < 1 s for 2,000 nodes.

Usage:
    .venv/bin/python benchmarks/bench_ui.py [--nodes 2000] [--runs 5] [--no-browser]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import steplineage as sl

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import Row, emit  # noqa: E402


def build(home: Path, nodes: int, width: int = 25) -> str:
    """Record ``nodes // 2`` steps in layers ``width`` wide (each step reads two outputs
    of the layer before and writes one), then a report reading the last layer; returns
    the report's node id, whose upstream lineage has ~``nodes`` nodes; one source is
    rewritten last, so most of that lineage is stale."""
    cat = sl.Catalog(home=home)
    cat.add_resource("wh", uri="postgresql://warehouse/bench", role="intermediate-data")
    layers = max(1, (nodes // 2) // width)
    previous = [sl.ResourceRef("wh", f"raw_{j:03d}") for j in range(width)]
    for layer in range(layers):
        current = []
        for j in range(width):
            out = sl.ResourceRef("wh", f"t{layer:03d}_{j:03d}")
            with cat.create_execution(sl.ExecutionConfig(
                    workflow=f"step_{j:03d}", name=f"step_{layer:03d}_{j:03d}",
                    inputs=[previous[j], previous[(j + 1) % width]], outputs=[out],
                    parameters={"layer": layer})):
                pass
            current.append(out)
        previous = current
    with cat.create_execution(sl.ExecutionConfig(workflow="report", name="report",
                                                 inputs=previous)) as exe:
        pass
    # Then a source moves on: the first layer's readers of raw_000 and nearly everything
    # after them are stale, the worst case for stale highlighting.
    with cat.create_execution(sl.ExecutionConfig(workflow="refresh", name="refresh",
                                                 outputs=[sl.ResourceRef("wh", "raw_000")])):
        pass
    cat.close()
    return f"execution:{exe.id}"


def bench_api(home: Path, node: str, runs: int) -> dict[str, Any]:
    from fastapi.testclient import TestClient

    from steplineage.web.app import create_app

    cat = sl.Catalog(home=home)
    client = TestClient(create_app(lambda: cat))
    results = {}
    for label, stale in (("api_ms", "false"), ("api_with_stale_ms", "true")):
        times, size = [], 0
        for _ in range(runs + 1):
            started = time.perf_counter()
            response = client.get("/api/lineage", params={
                "node": node, "direction": "upstream", "depth": 100,
                "max_nodes": 10_000, "stale": stale})
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.text
            size = len(response.json()["nodes"])
        results[label] = times[1:]  # the first run warms caches
        results["nodes"] = size
    cat.close()
    return results


def bench_browser(home: Path, node: str, runs: int) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    proc = subprocess.Popen([str(Path(sys.executable).parent / "steplineage"), "ui", "--port",
                             "0", "--home", str(home)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = ""
        while "open " not in line:
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                raise RuntimeError("steplineage ui did not start")
        base = line.split("open ", 1)[1].strip().rstrip("/")
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=[
                "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync"])
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page_ms, render_ms = [], []
            url = f"{base}/lineage?node={node}&direction=upstream&depth=100"
            for _ in range(runs + 1):
                started = time.perf_counter()
                page.goto(url)
                page.wait_for_selector("#sl-graph[data-render-ms]", timeout=60_000)
                page_ms.append((time.perf_counter() - started) * 1000)
                # the renderer alone on the JSON the page fetched (layout + SVG + fit)
                render_ms.append(page.evaluate("""() => fetch(document.querySelector('#sl-config')
                    ? JSON.parse(document.querySelector('#sl-config').textContent).api
                      + '/lineage' + location.search + '&stale=false' : '')
                  .then(r => r.json()).then(data => {
                    const box = document.createElement('div');
                    box.style.height = '600px'; document.body.appendChild(box);
                    const t0 = performance.now();
                    SteplineageGraph.render(box, data);
                    const took = performance.now() - t0;
                    box.remove();
                    return took;
                  })"""))
            nodes = page.locator("#sl-graph .slg-node").count()
            browser.close()
        return {"page_load_to_graph_ms": page_ms[1:], "renderer_only_ms": render_ms[1:],
                "drawn_nodes": nodes}
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-browser", action="store_true", help="API figures only")
    args = parser.parse_args(argv)
    home = Path(tempfile.mkdtemp(prefix="sl-bench-ui-"))
    started = time.perf_counter()
    node = build(home, args.nodes)
    print(f"built ~{args.nodes // 2} steps in {time.perf_counter() - started:.1f} s ({home})")
    api = bench_api(home, node, args.runs)
    size = f"{api['nodes']:,} nodes"
    rows = [Row("web", f"GET /api/lineage upstream, {size}", "ms", api["api_ms"],
                target="<= 300"),
            Row("web", f"GET /api/lineage upstream with stale highlighting, {size}", "ms",
                api["api_with_stale_ms"])]
    if args.no_browser:
        rows.append(Row("web", "headless Chromium: page load to drawn graph", "ms", [],
                        target="<= 1000", note="skipped (--no-browser)"))
    elif not Path("/usr/bin/chromium").exists():
        rows.append(Row("web", "headless Chromium: page load to drawn graph", "ms", [],
                        target="<= 1000", note="/usr/bin/chromium is missing"))
    else:
        web = bench_browser(home, node, args.runs)
        rows += [Row("web", f"headless Chromium: page load to drawn graph "
                     f"({web['drawn_nodes']:,} nodes)", "ms", web["page_load_to_graph_ms"],
                     target="<= 1000", ratio="fetch + layout + draw"),
                 Row("web", "headless Chromium: renderer alone on the same JSON", "ms",
                     web["renderer_only_ms"])]
    emit(rows)
    shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
