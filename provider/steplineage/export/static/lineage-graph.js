/*
 * steplineage lineage graph renderer: plain JavaScript + SVG, no dependencies,
 * works offline. Used by the self-contained HTML export and by the web UI.
 *
 *   SteplineageGraph.render(container, data, options) -> controller
 *
 * `options` (optional, used by the web UI): `onSelect(node, panel, controller)` is
 * called after a node's details are shown, to add more to the panel.
 * The controller has fit/zoom/select, plus `selected()` and `highlight(ids)`
 * (marks nodes with the class slg-match, e.g. search hits).
 *
 * `data` is a LineageGraph as JSON ({root, direction, partial, nodes, edges})
 * plus an optional `stale` list of node ids. Every user-made string reaches the
 * page through textContent or setAttribute only, never through innerHTML.
 *
 * Layout: nodes are put in layers by data-flow order (longest path from the
 * sources, sources pulled right next to their first consumer), ordered inside
 * a layer by a few barycenter sweeps to reduce crossings. Pan by dragging,
 * zoom with the wheel or the buttons, click a node for its details.
 */
(function (global) {
  "use strict";

  var SVG_NS = "http://www.w3.org/2000/svg";
  var NODE_W = 180;
  var NODE_H = 46;
  var GAP_X = 70;
  var GAP_Y = 26;
  var MAX_LABEL = 40;
  var ARC_ROOM = 80; // space above the top row for edges that arc over skipped columns
  var KIND_STYLE = {
    execution: { fill: "#dbeafe", stroke: "#1d4ed8", radius: 4, name: "execution" },
    version: { fill: "#dcfce7", stroke: "#15803d", radius: 23, name: "ref version" },
    asset: { fill: "#fef3c7", stroke: "#b45309", radius: 0, name: "asset" },
    dataset_version: { fill: "#ede9fe", stroke: "#6d28d9", radius: 10, name: "dataset version" },
    agent: { fill: "#f3f4f6", stroke: "#4b5563", radius: 14, name: "agent" }
  };
  var EDGE_DASH = { used: "", generated: "", code: "6 4", member: "2 3", associated: "2 3" };
  var FAILED = { failed: true, aborted: true };

  function el(name, attrs, parent) {
    var node = document.createElementNS(SVG_NS, name);
    Object.keys(attrs || {}).forEach(function (key) { node.setAttribute(key, String(attrs[key])); });
    if (parent) { parent.appendChild(node); }
    return node;
  }

  function html(name, className, text, parent) {
    var node = document.createElement(name);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    if (parent) { parent.appendChild(node); }
    return node;
  }

  function shorten(text, max) {
    text = String(text);
    return text.length > max ? text.slice(0, max - 1) + "\u2026" : text;
  }

  /* Layers by data-flow order; cycles (which lineage should not have) fall back to depth. */
  function computeLayers(nodes, edges) {
    var ids = nodes.map(function (n) { return n.id; });
    var preds = {}, succs = {}, indeg = {}, layer = {};
    ids.forEach(function (id) { preds[id] = []; succs[id] = []; indeg[id] = 0; });
    edges.forEach(function (e) {
      if (!(e.source in preds) || !(e.target in preds) || e.source === e.target) { return; }
      succs[e.source].push(e.target);
      preds[e.target].push(e.source);
      indeg[e.target] += 1;
    });
    var queue = ids.filter(function (id) { return indeg[id] === 0; });
    queue.forEach(function (id) { layer[id] = 0; });
    var seen = 0;
    while (queue.length) {
      var id = queue.shift();
      seen += 1;
      succs[id].forEach(function (next) {
        layer[next] = Math.max(layer[next] || 0, layer[id] + 1);
        indeg[next] -= 1;
        if (indeg[next] === 0) { queue.push(next); }
      });
    }
    if (seen < ids.length) {
      nodes.forEach(function (n) {
        if (!(n.id in layer) || indeg[n.id] > 0) {
          var best = 0;
          preds[n.id].forEach(function (p) { if (p in layer) { best = Math.max(best, layer[p] + 1); } });
          layer[n.id] = Math.max(best, n.depth || 0);
        }
      });
    }
    // A source (raw input, agent) sits just left of its first consumer, not far left.
    ids.forEach(function (id) {
      if (preds[id].length === 0 && succs[id].length) {
        var first = Math.min.apply(null, succs[id].map(function (s) { return layer[s]; }));
        layer[id] = Math.max(0, first - 1);
      }
    });
    return { layer: layer, preds: preds, succs: succs };
  }

  function layout(nodes, edges) {
    var info = computeLayers(nodes, edges);
    var columns = [];
    nodes.forEach(function (n) {
      var l = info.layer[n.id];
      (columns[l] = columns[l] || []).push(n.id);
    });
    columns = columns.filter(function (c) { return c && c.length; });
    var pos = {};
    function index() {
      columns.forEach(function (col) { col.forEach(function (id, i) { pos[id] = i; }); });
    }
    function sweep(neighbours) {
      columns.forEach(function (col) {
        var keyOf = {};
        col.forEach(function (id) {
          var ns = neighbours[id].filter(function (o) { return o in pos; });
          keyOf[id] = ns.length ? ns.reduce(function (a, o) { return a + pos[o]; }, 0) / ns.length
                                : pos[id];
        });
        col.sort(function (a, b) { return keyOf[a] - keyOf[b] || pos[a] - pos[b]; });
        col.forEach(function (id, i) { pos[id] = i; });
      });
    }
    index();
    for (var round = 0; round < 4; round += 1) {
      sweep(info.preds);
      columns.reverse(); sweep(info.succs); columns.reverse();
    }
    var tallest = Math.max.apply(null, columns.map(function (c) { return c.length; }).concat([1]));
    var xy = {};
    columns.forEach(function (col, c) {
      var offset = (tallest - col.length) * (NODE_H + GAP_Y) / 2;
      col.forEach(function (id, i) {
        xy[id] = { x: c * (NODE_W + GAP_X), y: ARC_ROOM + offset + i * (NODE_H + GAP_Y) };
      });
    });
    return {
      xy: xy,
      width: Math.max(1, columns.length * (NODE_W + GAP_X) - GAP_X),
      height: ARC_ROOM + Math.max(1, tallest * (NODE_H + GAP_Y) - GAP_Y)
    };
  }

  function shortHash(value) {
    value = String(value);
    // placeholder versions read "placeholder:<digest>": keep the word, shorten the digest
    return value.indexOf("placeholder:") === 0 ? "placeholder " + value.slice(12, 20)
                                               : value.slice(0, 12);
  }

  /* Text widths come from a canvas with the element's computed font: measuring SVG text
   * with getComputedTextLength forces a layout per call, seconds for 2,000 nodes. */
  var measure = { ctx: null, fonts: {} };
  function fontOf(textEl) {
    var key = textEl.getAttribute("class") || "";
    if (!(key in measure.fonts)) {
      var style = global.getComputedStyle(textEl);
      measure.fonts[key] = style.font ||
        [style.fontStyle, style.fontWeight, style.fontSize, style.fontFamily].join(" ").trim();
    }
    return measure.fonts[key];
  }

  /* Shorten an SVG text element until it fits in `width` pixels. */
  function fitText(textEl, full, width) {
    var text = shorten(full, MAX_LABEL);
    if (!measure.ctx) {
      measure.ctx = document.createElement("canvas").getContext("2d") || false;
    }
    var font = measure.ctx ? fontOf(textEl) : "";
    if (font) {
      measure.ctx.font = font;
      while (text.length > 2 && measure.ctx.measureText(text).width > width) {
        text = text.slice(0, text.length - 2) + "\u2026";
      }
      textEl.textContent = text;
      return;
    }
    textEl.textContent = text;  // no canvas: measure the SVG text itself
    while (text.length > 2 && textEl.getComputedTextLength() > width) {
      text = text.slice(0, text.length - 2) + "\u2026";
      textEl.textContent = text;
    }
  }

  function describe(node) {
    var a = node.attrs || {};
    if (node.kind === "execution") { return "execution \u00b7 " + (a.status || "?"); }
    if (node.kind === "version" && a.hash) { return "version \u00b7 " + shortHash(a.hash); }
    if (node.kind === "asset" && a.sha256) { return "asset \u00b7 " + shortHash(a.sha256); }
    return (KIND_STYLE[node.kind] || { name: node.kind }).name;
  }

  function render(container, data, options) {
    options = options || {};
    var current = null;
    var controller = null;
    var nodes = data.nodes || [];
    var edges = data.edges || [];
    var stale = {};
    (data.stale || []).forEach(function (id) { stale[id] = true; });
    var byId = {};
    nodes.forEach(function (n) { byId[n.id] = n; });
    edges = edges.filter(function (e) { return e.source in byId && e.target in byId; });

    while (container.firstChild) { container.removeChild(container.firstChild); }
    container.classList.add("slg");
    var stage = html("div", "slg-stage", null, container);
    var panel = html("aside", "slg-details", null, container);
    html("p", "slg-hint", "Click a node for its details. Drag to pan, wheel to zoom.", panel);
    var tools = html("div", "slg-tools", null, stage);
    var svg = el("svg", { "class": "slg-svg", role: "img", "aria-label": "lineage graph" }, stage);
    var defs = el("defs", {}, svg);
    var marker = el("marker", { id: "slg-arrow", viewBox: "0 0 10 10", refX: 10, refY: 5,
                                markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" }, defs);
    el("path", { d: "M 0 0 L 10 5 L 0 10 z", fill: "#6b7280" }, marker);
    var viewport = el("g", { "class": "slg-viewport" }, svg);
    var edgeLayer = el("g", { "class": "slg-edges" }, viewport);
    var nodeLayer = el("g", { "class": "slg-nodes" }, viewport);

    var placed = layout(nodes, edges);
    var view = { x: 0, y: 0, k: 1 };
    function apply() {
      viewport.setAttribute("transform", "translate(" + view.x + "," + view.y + ") scale(" + view.k + ")");
    }

    var edgeEls = [];
    edges.forEach(function (e) {
      var a = placed.xy[e.source], b = placed.xy[e.target];
      var x1 = a.x + NODE_W, y1 = a.y + NODE_H / 2, x2 = b.x, y2 = b.y + NODE_H / 2, d0;
      if (x2 <= x1) { // same or earlier column (only in cycles): loop around below
        var low = Math.max(a.y, b.y) + NODE_H + GAP_Y / 2;
        x1 = a.x + NODE_W / 2; y1 = a.y + NODE_H; x2 = b.x + NODE_W / 2; y2 = b.y + NODE_H;
        d0 = "M" + x1 + "," + y1 + " C" + x1 + "," + low + " " + x2 + "," + low + " " + x2 + "," + y2;
      } else if (x2 - x1 > GAP_X * 1.5) {
        // Spans several columns: arc over the nodes in between instead of through them
        // (a cubic's peak is 3/4 of its control points' offset; a node is NODE_H/2 tall above y).
        var bow = NODE_H + 14 + 6 * Math.round((x2 - x1) / (NODE_W + GAP_X));
        var top = Math.min(y1, y2) - bow;
        d0 = "M" + x1 + "," + y1 + " C" + (x1 + GAP_X) + "," + top + " " + (x2 - GAP_X) + "," + top +
             " " + x2 + "," + y2;
      } else {
        var mid = (x1 + x2) / 2;
        d0 = "M" + x1 + "," + y1 + " C" + mid + "," + y1 + " " + mid + "," + y2 + " " + x2 + "," + y2;
      }
      var path = el("path", { d: d0, "class": "slg-edge slg-rel-" + e.relation, fill: "none",
                              "marker-end": "url(#slg-arrow)" }, edgeLayer);
      if (EDGE_DASH[e.relation]) { path.setAttribute("stroke-dasharray", EDGE_DASH[e.relation]); }
      var title = el("title", {}, path);
      title.textContent = e.relation;
      edgeEls.push({ edge: e, el: path });
    });

    var nodeEls = {};
    nodes.forEach(function (n) {
      var p = placed.xy[n.id];
      var style = KIND_STYLE[n.kind] || KIND_STYLE.agent;
      var classes = ["slg-node", "slg-kind-" + n.kind];
      var status = (n.attrs || {}).status;
      if (n.kind === "execution" && FAILED[status]) { classes.push("slg-failed"); }
      if (stale[n.id]) { classes.push("slg-stale"); }
      if (n.id === data.root) { classes.push("slg-root"); }
      var g = el("g", { "class": classes.join(" "), transform: "translate(" + p.x + "," + p.y + ")",
                        tabindex: 0, "data-node-id": n.id }, nodeLayer);
      el("rect", { width: NODE_W, height: NODE_H, rx: style.radius, ry: style.radius,
                   fill: style.fill, stroke: style.stroke, "class": "slg-box" }, g);
      var label = el("text", { x: 10, y: 19, "class": "slg-label" }, g);
      fitText(label, n.label, NODE_W - 18);
      var sub = el("text", { x: 10, y: 36, "class": "slg-sub" }, g);
      // "stale" first: it is what the reader must not miss when the box is narrow
      fitText(sub, stale[n.id] ? "stale \u00b7 " + (status || describe(n)) : describe(n),
              NODE_W - 18);
      var title = el("title", {}, g);
      title.textContent = n.label + "\n" + n.id;
      g.addEventListener("click", function (ev) { ev.stopPropagation(); select(n.id); });
      g.addEventListener("keydown", function (ev) { if (ev.key === "Enter") { select(n.id); } });
      nodeEls[n.id] = g;
    });

    function select(id) {
      current = id;
      Object.keys(nodeEls).forEach(function (k) { nodeEls[k].classList.toggle("slg-selected", k === id); });
      edgeEls.forEach(function (item) {
        var on = item.edge.source === id || item.edge.target === id;
        item.el.classList.toggle("slg-edge-on", on);
      });
      showDetails(id);
      if (options.onSelect && byId[id]) { options.onSelect(byId[id], panel, controller); }
    }

    function highlight(ids) {
      var on = {};
      (ids || []).forEach(function (id) { on[id] = true; });
      Object.keys(nodeEls).forEach(function (k) { nodeEls[k].classList.toggle("slg-match", !!on[k]); });
    }

    function showDetails(id) {
      var n = byId[id];
      while (panel.firstChild) { panel.removeChild(panel.firstChild); }
      if (!n) { return; }
      html("h2", "slg-title", n.label, panel);
      var dl = html("dl", "slg-attrs", null, panel);
      function row(key, value) {
        if (value === null || value === undefined || value === "") { return; }
        html("dt", null, key, dl);
        html("dd", null, typeof value === "object" ? JSON.stringify(value) : value, dl);
      }
      row("kind", (KIND_STYLE[n.kind] || { name: n.kind }).name);
      row("id", n.id);
      row("depth from root", n.depth);
      if (stale[n.id]) { row("stale", "an input changed since this was computed"); }
      Object.keys(n.attrs || {}).sort().forEach(function (k) { row(k, n.attrs[k]); });
      var links = [["from", "target", "source"], ["to", "source", "target"]];
      links.forEach(function (spec) {
        var related = edges.filter(function (e) { return e[spec[1]] === id; });
        if (!related.length) { return; }
        html("h3", null, spec[0] === "from" ? "Incoming" : "Outgoing", panel);
        var ul = html("ul", "slg-links", null, panel);
        related.forEach(function (e) {
          var li = html("li", null, null, ul);
          html("span", "slg-rel", e.relation + " ", li);
          var other = byId[e[spec[2]]];
          var a = html("a", null, other ? other.label : e[spec[2]], li);
          a.setAttribute("href", "#");
          a.addEventListener("click", function (ev) { ev.preventDefault(); select(e[spec[2]]); });
        });
      });
    }

    function fit() {
      var box = svg.getBoundingClientRect();
      var w = box.width || 800, h = box.height || 600, pad = 24;
      var k = Math.min((w - 2 * pad) / placed.width, (h - 2 * pad) / placed.height, 1.5);
      view.k = k > 0 ? k : 1;
      view.x = (w - placed.width * view.k) / 2;
      view.y = (h - placed.height * view.k) / 2;
      apply();
    }

    function zoomAt(factor, cx, cy) {
      var k = Math.max(0.05, Math.min(8, view.k * factor));
      view.x = cx - (cx - view.x) * (k / view.k);
      view.y = cy - (cy - view.y) * (k / view.k);
      view.k = k;
      apply();
    }

    [["+", "zoom in", function () { var b = svg.getBoundingClientRect(); zoomAt(1.25, b.width / 2, b.height / 2); }],
     ["\u2212", "zoom out", function () { var b = svg.getBoundingClientRect(); zoomAt(0.8, b.width / 2, b.height / 2); }],
     ["fit", "fit the graph", fit]].forEach(function (spec) {
      var button = html("button", "slg-button", spec[0], tools);
      button.setAttribute("type", "button");
      button.setAttribute("title", spec[1]);
      button.addEventListener("click", spec[2]);
    });

    svg.addEventListener("wheel", function (ev) {
      ev.preventDefault();
      var b = svg.getBoundingClientRect();
      zoomAt(ev.deltaY < 0 ? 1.1 : 1 / 1.1, ev.clientX - b.left, ev.clientY - b.top);
    }, { passive: false });
    var drag = null;
    svg.addEventListener("pointerdown", function (ev) {
      if (ev.target.closest && ev.target.closest(".slg-node")) { return; }
      drag = { x: ev.clientX, y: ev.clientY, vx: view.x, vy: view.y };
      svg.setPointerCapture(ev.pointerId);
      svg.classList.add("slg-dragging");
    });
    svg.addEventListener("pointermove", function (ev) {
      if (!drag) { return; }
      view.x = drag.vx + ev.clientX - drag.x;
      view.y = drag.vy + ev.clientY - drag.y;
      apply();
    });
    function endDrag() { drag = null; svg.classList.remove("slg-dragging"); }
    svg.addEventListener("pointerup", endDrag);
    svg.addEventListener("pointercancel", endDrag);

    fit();
    controller = { fit: fit, zoom: zoomAt, select: select, nodeCount: nodes.length,
                   selected: function () { return current; }, highlight: highlight };
    return controller;
  }

  /* Render every <div data-steplineage-graph="<id of a JSON script element>">. */
  function autoRender() {
    var targets = document.querySelectorAll("[data-steplineage-graph]");
    Array.prototype.forEach.call(targets, function (target) {
      var source = document.getElementById(target.getAttribute("data-steplineage-graph"));
      if (!source) { return; }
      target.steplineage = render(target, JSON.parse(source.textContent));
    });
  }

  global.SteplineageGraph = { render: render, autoRender: autoRender, layout: layout };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", autoRender);
  } else {
    autoRender();
  }
})(window);
