/*
 * steplineage web UI: drives the lineage graph on a page (fetch from the app's
 * JSON API, render with SteplineageGraph, controls, search, execution details).
 * Settings come from <script type="application/json" id="sl-config">. Every
 * user-made string reaches the page through textContent / setAttribute only.
 */
(function () {
  "use strict";

  var configEl = document.getElementById("sl-config");
  var canvas = document.getElementById("sl-graph");
  if (!configEl || !canvas || !window.SteplineageGraph) { return; }
  var cfg = JSON.parse(configEl.textContent);
  var state = {
    mode: cfg.mode, node: cfg.node || null, dagId: cfg.dag_id || null, runId: cfg.run_id || null,
    taskId: cfg.task_id || null, direction: cfg.direction || "both", depth: cfg.depth,
    maxNodes: cfg.max_nodes || 2000, stale: true
  };
  var controller = null;
  var statusEl = document.getElementById("sl-graph-status");
  var $ = function (id) { return document.getElementById(id); };

  function el(name, className, text, parent) {
    var node = document.createElement(name);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    if (parent) { parent.appendChild(node); }
    return node;
  }

  function query(params) {
    return Object.keys(params).filter(function (k) {
      return params[k] !== null && params[k] !== undefined && params[k] !== "";
    }).map(function (k) {
      return encodeURIComponent(k) + "=" + encodeURIComponent(params[k]);
    }).join("&");
  }

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (body) {
          if (!response.ok) {
            var detail = body && body.detail;
            throw new Error(response.status + ": " + (typeof detail === "string" ? detail : response.statusText));
          }
          return body;
        });
      });
  }

  function graphUrl() {
    var common = { depth: state.depth, max_nodes: state.maxNodes, stale: state.stale ? "true" : "false" };
    if (state.mode === "dag") {
      common.run_id = state.runId;
      common.task_id = state.taskId;
      return cfg.api + "/dags/" + encodeURIComponent(state.dagId) + "/lineage?" + query(common);
    }
    common.node = state.node;
    common.direction = state.direction;
    return cfg.api + "/lineage?" + query(common);
  }

  function setStatus(text, bad) {
    statusEl.textContent = text;
    statusEl.classList.toggle("sl-bad", !!bad);
  }

  function load() {
    if (state.mode === "search" && !state.node) {
      setStatus("Search for a resource, asset file, execution or checksum to see its lineage.");
      return;
    }
    setStatus("Loading the lineage graph\u2026");
    var started = performance.now();
    getJSON(graphUrl()).then(function (data) {
      controller = window.SteplineageGraph.render(canvas, data, { onSelect: onSelect });
      canvas.setAttribute("data-node-count", String(data.nodes.length));
      var took = Math.round(performance.now() - started);
      var parts = [data.nodes.length + " nodes", data.edges.length + " edges"];
      if (data.stale.length) { parts.push(data.stale.length + " stale"); }
      if (data.hidden) { parts.push(data.hidden + " hidden (no access)"); }
      if (data.partial) { parts.push("partial: raise max nodes to see more"); }
      var where = state.mode === "dag" ? "around run " + (state.runId || "(newest)")
                                       : state.direction + " of " + state.node;
      setStatus("Lineage " + where + ": " + parts.join(", ") + " (" + took + " ms).");
      canvas.setAttribute("data-render-ms", String(took));
      updateButtons();
    }).catch(function (err) {
      setStatus("Could not load the lineage graph: " + err.message, true);
    });
  }

  function updateButtons() {
    var on = !!(controller && controller.selected());
    $("sl-upstream").disabled = !on;
    $("sl-downstream").disabled = !on;
  }

  function reroot(direction) {
    var id = controller && controller.selected();
    if (!id) { return; }
    state.mode = "node";
    state.node = id;
    state.direction = direction;
    $("sl-direction").value = direction;
    load();
  }

  /* Executions get their full record from the API: timeline, parameters, files, links. */
  function onSelect(node, panel) {
    updateButtons();
    var extra = el("div", "slg-extra", null, panel);
    var id = node.id.slice(node.id.indexOf(":") + 1);
    var pageLink = el("a", null, node.kind === "execution" ? "Open execution page" : "Lineage of this node", extra);
    pageLink.setAttribute("href", node.kind === "execution"
      ? cfg.pages + "/executions/" + encodeURIComponent(id)
      : cfg.pages + "/lineage?" + query({ node: node.id }));
    if (node.kind !== "execution" || node.attrs.status === "hidden") { return; }
    var loading = el("p", "sl-muted", "Loading details\u2026", extra);
    getJSON(cfg.api + "/executions/" + encodeURIComponent(id)).then(function (d) {
      extra.removeChild(loading);
      var e = d.execution;
      el("h3", null, "Status history", extra);
      var ol = el("ol", null, null, extra);
      e.history.forEach(function (h) {
        el("li", null, h.status + " \u00b7 " + h.at.slice(0, 19).replace("T", " ") +
           (h.message ? " \u00b7 " + h.message : ""), ol);
      });
      [["Parameters", e.parameters], ["Metrics", e.metrics]].forEach(function (spec) {
        var keys = Object.keys(spec[1] || {});
        if (!keys.length) { return; }
        el("h3", null, spec[0], extra);
        var ul = el("ul", null, null, extra);
        keys.sort().forEach(function (k) { el("li", null, k + " = " + JSON.stringify(spec[1][k]), ul); });
      });
      [["Inputs", d.inputs], ["Outputs", d.outputs], ["Code", d.code]].forEach(function (spec) {
        if (!spec[1].length) { return; }
        el("h3", null, spec[0], extra);
        var ul = el("ul", null, null, extra);
        spec[1].forEach(function (i) {
          var li = el("li", null, null, ul);
          if (i.kind === "asset" && i.asset) {
            el("span", null, i.asset.asset_table + "/" + i.asset.filename + " (" + i.asset.length + " B) ", li);
            el("code", null, "md5 " + i.asset.md5, li);
            el("br", null, null, li);
            el("code", null, "sha256 " + i.asset.sha256, li);
          } else {
            el("span", null, (i.ref || i.node) + (i.valid ? " " : " (not valid) "), li);
            if (i.hash) { el("code", null, i.hash, li); }
          }
        });
      });
      var o = e.orchestrator;
      if (o.dag_id && cfg.airflow_base !== undefined && cfg.airflow_base !== null) {
        var url = cfg.airflow_base + "/dags/" + encodeURIComponent(o.dag_id);
        if (o.run_id) { url += "/runs/" + encodeURIComponent(o.run_id); }
        if (o.run_id && o.task_id) { url += "/tasks/" + encodeURIComponent(o.task_id); }
        if (o.run_id && o.task_id && o.map_index !== null && o.map_index >= 0) { url += "/mapped/" + o.map_index; }
        var back = el("a", null, "Open in Airflow", el("p", null, null, extra));
        back.setAttribute("href", url);
        back.setAttribute("target", "_top");
      }
    }).catch(function (err) {
      loading.textContent = "Could not load details: " + err.message;
    });
  }

  /* Search: hits highlight in the current graph; clicking one walks its lineage. */
  var searchTimer = null;
  function search(text) {
    var list = $("sl-search-results");
    while (list.firstChild) { list.removeChild(list.firstChild); }
    if (!text) { list.hidden = true; if (controller) { controller.highlight([]); } return; }
    getJSON(cfg.api + "/search?" + query({ q: text })).then(function (hits) {
      while (list.firstChild) { list.removeChild(list.firstChild); }
      if (controller) { controller.highlight(hits.map(function (h) { return h.node; })); }
      if (!hits.length) { el("li", "sl-muted", "no match", list); }
      hits.forEach(function (h) {
        var li = el("li", null, null, list);
        var button = el("button", "sl-hit", null, li);
        button.setAttribute("type", "button");
        el("span", "sl-hit-kind", h.kind, button);
        el("span", "sl-hit-label", h.label, button);
        el("span", "sl-hit-detail", h.detail ? h.detail.slice(0, 16) : "", button);
        button.addEventListener("click", function () {
          list.hidden = true;
          state.mode = "node";
          state.node = h.node;
          load();
        });
      });
      list.hidden = false;
    }).catch(function (err) { setStatus("Search failed: " + err.message, true); });
  }

  $("sl-direction").value = state.direction;
  $("sl-depth").value = String(state.depth);
  $("sl-max-nodes").value = String(state.maxNodes);
  $("sl-controls").addEventListener("submit", function (ev) { ev.preventDefault(); });
  $("sl-direction").addEventListener("change", function (ev) {
    if (state.mode === "dag") {
      var id = controller && controller.selected();
      if (!id) { setStatus("Select a node first: direction applies to the selected node."); return; }
      state.mode = "node";
      state.node = id;
    }
    state.direction = ev.target.value;
    load();
  });
  $("sl-depth").addEventListener("change", function (ev) {
    state.depth = Math.max(0, Math.min(100, parseInt(ev.target.value, 10) || 0));
    load();
  });
  $("sl-max-nodes").addEventListener("change", function (ev) {
    state.maxNodes = Math.max(1, Math.min(10000, parseInt(ev.target.value, 10) || 2000));
    load();
  });
  $("sl-stale").addEventListener("change", function (ev) { state.stale = ev.target.checked; load(); });
  $("sl-upstream").addEventListener("click", function () { reroot("upstream"); });
  $("sl-downstream").addEventListener("click", function () { reroot("downstream"); });
  $("sl-search").addEventListener("input", function (ev) {
    clearTimeout(searchTimer);
    var text = ev.target.value.trim();
    searchTimer = setTimeout(function () { search(text); }, 250);  // debounce typing
  });
  load();
})();
