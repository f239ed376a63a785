"""How fast the lineage web app serves and draws a 2,000-node lineage.

Builds a chain-and-fan pipeline in a fresh embedded SQLite catalog (raw data
-> N steps, each reading the previous step's output and a shared lookup,
writing its own output), then measures:

* API: ``GET /api/lineage?node=<last step>&direction=upstream&depth=...`` through
  the app in-process (FastAPI TestClient; median of several runs), with and
  without the stale computation;
* browser: load the standalone page in headless Chromium and time from
  navigation to the rendered SVG (``data-render-ms`` set by the page: fetch +
  layout + draw), plus the renderer alone on the same JSON.

Targets (issue 5): API < 300 ms, render < 1 s for 2,000 nodes.

Usage:
    .venv/bin/python benchmarks/bench_ui.py [--nodes 2000] [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import steplineage as sl


def build(home: Path, nodes: int) -> str:
    """Record a pipeline whose upstream lineage from the last step has ~``nodes`` nodes;
    returns that step's node id."""
    cat = sl.Catalog(home=home)
    cat.add_resource("wh", uri="postgresql://warehouse/bench", role="intermediate-data")
    steps = nodes // 2  # each step adds itself and one output version
    previous = sl.ResourceRef("wh", "raw")
    last = ""
    for i in range(steps):
        out = sl.ResourceRef("wh", f"table_{i:05d}")
        with cat.create_execution(sl.ExecutionConfig(
                workflow=f"step_{i % 50:02d}", name=f"step_{i:05d}",
                inputs=[previous] + ([sl.ResourceRef("wh", "lookup")] if i % 10 == 0 else []),
                outputs=[out], parameters={"i": i})) as exe:
            pass
        previous, last = out, exe.id
    cat.close()
    return f"execution:{last}"


def bench_api(home: Path, node: str, runs: int) -> dict[str, float]:
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
                "node": node, "direction": "upstream", "depth": 100_000 // 1000,
                "max_nodes": 10_000, "stale": stale})
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.text
            size = len(response.json()["nodes"])
        results[label] = statistics.median(times[1:])  # the first run warms caches
        results["nodes"] = size
    cat.close()
    return results


def bench_browser(home: Path, node: str, runs: int) -> dict[str, float]:
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
        return {"page_load_to_graph_ms": statistics.median(page_ms[1:]),
                "renderer_only_ms": statistics.median(render_ms[1:]), "drawn_nodes": nodes}
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="sl-bench-ui-"))
    started = time.perf_counter()
    node = build(home, args.nodes)
    print(f"built {args.nodes // 2} steps in {time.perf_counter() - started:.1f} s ({home})")
    api = bench_api(home, node, args.runs)
    print(f"API  /api/lineage upstream, {api['nodes']:.0f} nodes: median {api['api_ms']:.0f} ms "
          f"(target < 300 ms); with stale highlighting {api['api_with_stale_ms']:.0f} ms")
    web = bench_browser(home, node, args.runs)
    print(f"browser: page load to drawn graph ({web['drawn_nodes']:.0f} nodes) median "
          f"{web['page_load_to_graph_ms']:.0f} ms; renderer alone {web['renderer_only_ms']:.0f} ms "
          "(target < 1000 ms)")


if __name__ == "__main__":
    main()
