// The HTML report: draws the data block of the page (html_report.cpp) as SVG.
// Every text from the data goes in as text (textContent, SVG text nodes),
// never as markup: traces and documents may come from someone else.
(function () {
  "use strict";
  var started = performance.now();
  var NS = "http://www.w3.org/2000/svg";
  var data = JSON.parse(document.getElementById("tlsheap-data").textContent);
  var tooltip = document.getElementById("tooltip");
  var MODEL_COLOURS = ["#2c7a4b", "#8e44ad", "#c26a12", "#16a085", "#7f8c8d", "#b03a6b", "#34495e"];

  // ---------- small helpers ----------
  function html(tag, attrs, text) {
    var node = document.createElement(tag);
    setAttributes(node, attrs);
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function svg(tag, attrs, text) {
    var node = document.createElementNS(NS, tag);
    setAttributes(node, attrs);
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function setAttributes(node, attrs) {
    if (!attrs) return;
    Object.keys(attrs).forEach(function (k) {
      if (attrs[k] !== undefined && attrs[k] !== null) node.setAttribute(k, String(attrs[k]));
    });
  }
  function bytes(n) {
    if (n === null || n === undefined) return "—";
    return Number(n).toLocaleString("en-US") + " B";
  }
  function count(n) {
    if (n === null || n === undefined) return "—";
    return Number(n).toLocaleString("en-US");
  }
  function shortBytes(n) {
    if (n >= 1048576) return (n / 1048576).toFixed(n >= 10485760 ? 0 : 1) + " MiB";
    if (n >= 1024) return (n / 1024).toFixed(n >= 10240 ? 0 : 1) + " KiB";
    return String(n) + " B";
  }
  // A colour per name, the same on every page: states keep theirs.
  function colourOf(name) {
    var h = 0;
    for (var i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) >>> 0;
    return "hsl(" + (h % 360) + ", 55%, " + (58 + (h >> 9) % 14) + "%)";
  }
  function showTip(event, lines) {
    tooltip.textContent = lines.join("\n");
    tooltip.hidden = false;
    var x = event.clientX + 14;
    var y = event.clientY + 14;
    var w = tooltip.offsetWidth;
    var h = tooltip.offsetHeight;
    if (x + w > window.innerWidth - 4) x = Math.max(4, event.clientX - w - 14);
    if (y + h > window.innerHeight - 4) y = Math.max(4, event.clientY - h - 14);
    tooltip.style.left = x + "px";
    tooltip.style.top = y + "px";
  }
  function hideTip() {
    tooltip.hidden = true;
  }
  // The last index whose value is <= x in a sorted array (-1 if none).
  function lastAtOrBefore(values, x) {
    var lo = 0;
    var hi = values.length - 1;
    var found = -1;
    while (lo <= hi) {
      var mid = (lo + hi) >> 1;
      if (values[mid] <= x) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found;
  }

  // ---------- sortable tables ----------
  // columns: [{title, key(row) -> value, text(row) -> string, num: bool}]
  function table(columns, rows, attrs) {
    var t = html("table", attrs);
    var head = html("tr");
    var body = html("tbody");
    var sortColumn = -1;
    var ascending = true;
    function fill() {
      while (body.firstChild) body.removeChild(body.firstChild);
      rows.forEach(function (row) {
        var tr = html("tr");
        columns.forEach(function (c) {
          var td = html("td", { class: c.num ? "num" : null });
          if (c.cell) {
            c.cell(td, row);
          } else {
            td.textContent = c.text ? c.text(row) : String(c.key(row));
          }
          tr.appendChild(td);
        });
        body.appendChild(tr);
      });
    }
    columns.forEach(function (c, index) {
      var th = html("th", { title: "sort by " + c.title }, c.title);
      th.addEventListener("click", function () {
        ascending = sortColumn === index ? !ascending : !c.num;
        sortColumn = index;
        rows.sort(function (a, b) {
          var x = c.key(a);
          var y = c.key(b);
          if (x === y) return 0;
          if (x === null || x === undefined) return 1;
          if (y === null || y === undefined) return -1;
          return (x < y ? -1 : 1) * (ascending ? 1 : -1);
        });
        Array.prototype.forEach.call(head.children, function (h) {
          h.className = "";
        });
        th.className = ascending ? "sorted-asc" : "sorted-desc";
        fill();
      });
      head.appendChild(th);
    });
    var thead = html("thead");
    thead.appendChild(head);
    t.appendChild(thead);
    t.appendChild(body);
    fill();
    return t;
  }
  function numberColumn(title, field) {
    return {
      title: title,
      num: true,
      key: function (r) {
        return r[field];
      },
      text: function (r) {
        return count(r[field]);
      },
    };
  }
  function textColumn(title, field) {
    return {
      title: title,
      key: function (r) {
        return r[field] === null || r[field] === undefined ? "" : String(r[field]);
      },
    };
  }

  // ---------- the data of a view ----------
  // The series as columns, from the trace (timeline) or from the document.
  function seriesOf(view) {
    // free, largest: per model, on a heap of fixed size (empty without).
    var s = { seq: [], live: [], liveMax: [], models: [], footprint: [], free: [], largest: [] };
    var t = view.timeline;
    if (t) {
      s.models = t.models || [];
      var withHeap = (t.series || []).length > 0 && Array.isArray(t.series[0][4]);
      s.models.forEach(function () {
        s.footprint.push([]);
        if (withHeap) {
          s.free.push([]);
          s.largest.push([]);
        }
      });
      (t.series || []).forEach(function (p) {
        s.seq.push(p[0]);
        s.live.push(p[1]);
        s.liveMax.push(p[2]);
        for (var m = 0; m < s.models.length; m++) {
          s.footprint[m].push((p[3] || [])[m] || 0);
          if (withHeap) {
            var h = (p[4] || [])[m] || [0, 0];
            s.free[m].push(h[0]);
            s.largest[m].push(h[1]);
          }
        }
      });
      return s;
    }
    var doc = (view.profile && view.profile.series) || {};
    s.models = doc.models || [];
    s.models.forEach(function () {
      s.footprint.push([]);
    });
    (doc.points || []).forEach(function (p) {
      s.seq.push(p.seq);
      s.live.push(p.live);
      s.liveMax.push(p.live_max);
      for (var m = 0; m < s.models.length; m++) s.footprint[m].push((p.footprint || [])[m] || 0);
    });
    return s;
  }
  function highest(values) {
    var top = 0;
    for (var i = 0; i < values.length; i++) if (values[i] > top) top = values[i];
    return top;
  }
  function domainOf(view, series) {
    var p = view.profile || {};
    var ymax = Math.max(highest(series.liveMax), (p.live_peak && p.live_peak.bytes) || 0);
    series.footprint.forEach(function (f) {
      ymax = Math.max(ymax, highest(f));
    });
    if (view.timeline && view.timeline.heap_size) ymax = Math.max(ymax, view.timeline.heap_size);
    var xmax = series.seq.length ? series.seq[series.seq.length - 1] : 1;
    if (view.timeline && view.timeline.events_total) xmax = Math.max(xmax, view.timeline.events_total);
    return { x0: 0, x1: Math.max(1, xmax), ymax: Math.max(1, ymax) };
  }

  // ---------- the timeline ----------
  function timeline(parent, view, domain) {
    var series = seriesOf(view);
    var t = view.timeline;
    var profile = view.profile || {};
    var W = 1160;
    var left = 78;
    var right = 16;
    var top = 22; // the TLS records' row
    var plotH = 250;
    var rowH = 17;
    var bands = (t && t.bands) || [];
    var connections = [];
    bands.forEach(function (b) {
      if (connections.indexOf(b[0]) < 0) connections.push(b[0]);
    });
    connections.sort(function (a, b) {
      return a - b;
    });
    var rowsTop = top + plotH + 22;
    var H = rowsTop + connections.length * rowH + 8;
    var plotW = W - left - right;
    var view0 = { x0: domain.x0, x1: domain.x1 };
    var hidden = {};
    var eventsBySeq = new Map();
    ((t && t.events) || []).forEach(function (e) {
      eventsBySeq.set(e[0], e);
    });

    var controls = html("div", { class: "controls" });
    var reset = html("button", { type: "button", class: "zoom-reset" }, "Reset zoom");
    var panLeft = html("button", { type: "button", title: "pan left" }, "\u2190");
    var panRight = html("button", { type: "button", title: "pan right" }, "\u2192");
    controls.appendChild(reset);
    controls.appendChild(panLeft);
    controls.appendChild(panRight);
    controls.appendChild(html("span", { class: "note" }, "drag across the chart to zoom to a range; wheel to zoom, shift+wheel to pan"));
    var legend = [{ key: "live", label: "live bytes (requested)", colour: "#1f5fbf" }];
    series.models.forEach(function (m, i) {
      legend.push({ key: "model" + i, label: m + " footprint", colour: MODEL_COLOURS[i % MODEL_COLOURS.length] });
    });
    series.free.forEach(function (f, i) {
      var m = series.models[i];
      legend.push({ key: "free" + i, label: m + " free bytes", colour: MODEL_COLOURS[i % MODEL_COLOURS.length] });
      legend.push({ key: "largest" + i, label: m + " largest free block", colour: MODEL_COLOURS[i % MODEL_COLOURS.length] });
    });
    legend.forEach(function (entry) {
      var label = html("label");
      var box = html("input", { type: "checkbox" });
      box.checked = true;
      box.addEventListener("change", function () {
        hidden[entry.key] = !box.checked;
        draw();
      });
      label.appendChild(box);
      var swatch = html("span", { class: "swatch" });
      swatch.style.background = entry.colour;
      label.appendChild(swatch);
      label.appendChild(document.createTextNode(entry.label));
      controls.appendChild(label);
    });
    parent.appendChild(controls);

    var root = svg("svg", { viewBox: "0 0 " + W + " " + H, class: "timeline", role: "img" });
    root.appendChild(svg("title", null, "heap over time: " + (view.name || "")));
    var defs = svg("defs");
    var clipId = "clip-" + Math.random().toString(36).slice(2);
    var clip = svg("clipPath", { id: clipId });
    clip.appendChild(svg("rect", { x: left, y: 0, width: plotW, height: H }));
    defs.appendChild(clip);
    root.appendChild(defs);
    var layer = svg("g", { "clip-path": "url(#" + clipId + ")" });
    var axes = svg("g", { class: "axis" });
    root.appendChild(axes);
    root.appendChild(layer);
    var overlay = svg("g");
    root.appendChild(overlay);
    connections.forEach(function (c, i) {
      var label = t && t.connection_records ? (c === 0 ? "shared" : "conn " + c) : c === 0 ? "set-up" : "connection";
      root.appendChild(svg("text", { x: left - 6, y: rowsTop + i * rowH + 12, "text-anchor": "end", class: "row-label" }, label));
    });
    var crosshair = svg("line", { class: "crosshair", y1: top, y2: rowsTop + connections.length * rowH, visibility: "hidden" });
    root.appendChild(crosshair);
    var brush = svg("rect", { class: "brush", y: top, height: plotH, visibility: "hidden" });
    root.appendChild(brush);
    var hit = svg("rect", { x: left, y: top, width: plotW, height: rowsTop + connections.length * rowH - top, fill: "transparent" });
    root.appendChild(hit);
    parent.appendChild(root);

    function x(seq) {
      return left + ((seq - view0.x0) / (view0.x1 - view0.x0)) * plotW;
    }
    function y(b) {
      return top + plotH - (b / domain.ymax) * plotH;
    }
    function seqAt(px) {
      return view0.x0 + ((px - left) / plotW) * (view0.x1 - view0.x0);
    }
    function stepPath(values, from, to) {
      if (from > to) return "";
      var d = "M" + x(from > 0 ? series.seq[from - 1] : 0).toFixed(1) + "," + y(from > 0 ? values[from - 1] : 0).toFixed(1);
      for (var i = from; i <= to; i++) {
        var xi = x(series.seq[i]).toFixed(1);
        d += "H" + xi + "V" + y(values[i]).toFixed(1);
      }
      return d;
    }

    function draw() {
      while (layer.firstChild) layer.removeChild(layer.firstChild);
      while (axes.firstChild) axes.removeChild(axes.firstChild);
      while (overlay.firstChild) overlay.removeChild(overlay.firstChild);
      // y axis and grid
      var ticks = 5;
      for (var k = 0; k <= ticks; k++) {
        var b = (domain.ymax * k) / ticks;
        axes.appendChild(svg("line", { x1: left, x2: W - right, y1: y(b), y2: y(b), stroke: "#eceef2" }));
        axes.appendChild(svg("text", { x: left - 6, y: y(b) + 4, "text-anchor": "end" }, shortBytes(Math.round(b))));
      }
      // x axis: events
      var span = view0.x1 - view0.x0;
      for (var j = 0; j <= 8; j++) {
        var s = view0.x0 + (span * j) / 8;
        axes.appendChild(svg("line", { x1: x(s), x2: x(s), y1: top + plotH, y2: top + plotH + 4 }));
        axes.appendChild(svg("text", { x: x(s), y: top + plotH + 15, "text-anchor": j === 0 ? "start" : j === 8 ? "end" : "middle" }, "event " + count(Math.round(s))));
      }
      axes.appendChild(svg("line", { x1: left, x2: W - right, y1: top + plotH, y2: top + plotH }));

      // bands: behind the curves (handshake states) and in a row per connection
      bands.forEach(function (band) {
        var b0 = band[3];
        var b1 = band[4];
        if (b1 < view0.x0 || b0 > view0.x1) return;
        var x0 = x(b0);
        var width = Math.max(x(b1) - x0, 1.5);
        var row = connections.indexOf(band[0]);
        var colour = colourOf(band[1]);
        if (band[2]) {
          layer.appendChild(svg("rect", { class: "band-bg", x: x0, y: top, width: width, height: plotH, fill: colour }));
        }
        var rect = svg("rect", {
          class: "band",
          x: x0,
          y: rowsTop + row * rowH,
          width: width,
          height: rowH - 2,
          fill: colour,
          "data-state": band[1],
          "data-connection": band[0],
        });
        layer.appendChild(rect);
        if (width > band[1].length * 6 + 6) {
          layer.appendChild(svg("text", { class: "band-label", x: x0 + 3, y: rowsTop + row * rowH + 11 }, band[1]));
        }
      });

      // curves, only the points in view (and one on each side)
      var from = Math.max(0, lastAtOrBefore(series.seq, view0.x0));
      var to = Math.min(series.seq.length - 1, lastAtOrBefore(series.seq, view0.x1) + 1);
      if (!hidden.live && series.seq.length) {
        var area = stepPath(series.liveMax, from, to);
        if (area) {
          area += "V" + y(0) + "H" + x(series.seq[from > 0 ? from - 1 : 0]).toFixed(1) + "Z";
          layer.appendChild(svg("path", { class: "series-live-max", d: area }));
        }
        layer.appendChild(svg("path", { class: "series-live", d: stepPath(series.live, from, to) }));
      }
      series.models.forEach(function (m, i) {
        if (hidden["model" + i] || !series.seq.length) return;
        layer.appendChild(svg("path", { class: "series-model", stroke: MODEL_COLOURS[i % MODEL_COLOURS.length], d: stepPath(series.footprint[i], from, to), "data-model": m }));
      });
      series.free.forEach(function (f, i) {
        var colour = MODEL_COLOURS[i % MODEL_COLOURS.length];
        if (!hidden["free" + i]) layer.appendChild(svg("path", { class: "series-free", stroke: colour, d: stepPath(f, from, to), "data-heap": "free", "data-model": series.models[i] }));
        if (!hidden["largest" + i]) layer.appendChild(svg("path", { class: "series-largest", stroke: colour, d: stepPath(series.largest[i], from, to), "data-heap": "largest", "data-model": series.models[i] }));
      });
      if (t && t.heap_size) {
        layer.appendChild(svg("line", { class: "heap-line", x1: left, x2: W - right, y1: y(t.heap_size), y2: y(t.heap_size) }));
        layer.appendChild(svg("text", { x: W - right - 4, y: y(t.heap_size) - 4, "text-anchor": "end" }, "heap " + bytes(t.heap_size)));
      }

      // TLS records, failed allocations
      ((t && t.records) || []).forEach(function (r) {
        if (r[0] < view0.x0 || r[0] > view0.x1) return;
        var cx = x(r[0]);
        var incoming = r[2] === "in";
        var marker = svg("path", {
          class: "record " + (incoming ? "record-in" : "record-out"),
          d: incoming ? "M" + (cx - 4) + "," + (top - 12) + "h8l-4,8z" : "M" + (cx - 4) + "," + (top - 4) + "h8l-4,-8z",
          "data-seq": r[0],
        });
        marker.addEventListener("mousemove", function (e) {
          e.stopPropagation();
          var dtls = r[6] ? "\nepoch " + r[6].epoch + ", sequence " + r[6].sequence + (r[6].flags.length ? ": " + r[6].flags.join(", ") : "") : "";
          showTip(e, [(incoming ? "received" : "sent") + (r[6] ? " DTLS record: " : " TLS record: ") + contentType(r[3]) + ", " + bytes(r[4]), "after event " + count(r[0]) + (r[5] && r[5].length ? "\nmessages: " + r[5].join(", ") : "") + dtls]);
        });
        marker.addEventListener("mouseleave", hideTip);
        overlay.appendChild(marker);
      });
      ((t && t.failed) || []).forEach(function (f) {
        if (f[0] < view0.x0 || f[0] > view0.x1) return;
        var fx = x(f[0]);
        overlay.appendChild(svg("path", { class: "failed-alloc", d: "M" + (fx - 4) + "," + (top + 4) + "l8,8m0,-8l-8,8" }));
      });

      // the end of each cycle of a lifecycle recording
      var cycles = profile.cycles || [];
      if (cycles.length > 1) {
        cycles.forEach(function (c) {
          if (c.end_seq < view0.x0 || c.end_seq > view0.x1) return;
          overlay.appendChild(svg("line", { class: "cycle-end", x1: x(c.end_seq), x2: x(c.end_seq), y1: top, y2: top + plotH, "data-cycle": c.cycle }));
        });
      }

      // the live peak
      var peak = profile.live_peak;
      if (peak && peak.at && peak.at.seq >= view0.x0 && peak.at.seq <= view0.x1) {
        var g = svg("g", { class: "peak-marker", "data-bytes": peak.bytes, "data-seq": peak.at.seq });
        var px = x(peak.at.seq);
        g.appendChild(svg("line", { x1: px, x2: px, y1: top, y2: top + plotH }));
        g.appendChild(svg("circle", { cx: px, cy: y(peak.bytes), r: 4 }));
        var anchor = px > left + plotW * 0.7 ? "end" : "start";
        g.appendChild(svg("text", { x: px + (anchor === "end" ? -6 : 6), y: Math.max(top + 12, y(peak.bytes) - 6), "text-anchor": anchor }, "live peak " + bytes(peak.bytes) + " in " + (peak.at.state || peak.at.phase || "")));
        overlay.appendChild(g);
      }
    }

    function stateAt(seq) {
      var found = [];
      bands.forEach(function (b) {
        if (b[3] < seq && seq <= b[4]) found.push((connections.length > 1 ? "conn " + b[0] + ": " : "") + b[1]);
      });
      return found;
    }

    // hover: the nearest point, its event, the states
    var dragFrom = null;
    function localX(event) {
      var box = root.getBoundingClientRect();
      return ((event.clientX - box.left) / box.width) * W;
    }
    hit.addEventListener("mousemove", function (event) {
      var px = Math.min(Math.max(localX(event), left), left + plotW);
      if (dragFrom !== null) {
        brush.setAttribute("x", Math.min(dragFrom, px));
        brush.setAttribute("width", Math.abs(px - dragFrom));
        brush.setAttribute("visibility", "visible");
      }
      crosshair.setAttribute("x1", px);
      crosshair.setAttribute("x2", px);
      crosshair.setAttribute("visibility", "visible");
      var seq = seqAt(px);
      var i = lastAtOrBefore(series.seq, seq);
      if (i < series.seq.length - 1 && (i < 0 || seq - series.seq[i] > series.seq[i + 1] - seq)) i += 1;
      if (i < 0) return hideTip();
      var lines = ["event " + count(series.seq[i]) + ": live " + bytes(series.live[i])];
      if (series.liveMax[i] !== series.live[i]) lines.push("highest in this point's events: " + bytes(series.liveMax[i]));
      series.models.forEach(function (m, k) {
        lines.push(m + " footprint: " + bytes(series.footprint[k][i]) + (series.free[k] ? "; free " + bytes(series.free[k][i]) + ", largest free block " + bytes(series.largest[k][i]) : ""));
      });
      var ev = eventsBySeq.get(series.seq[i]);
      var site = ev && t.sites ? t.sites[ev[3]] : "";
      if (ev) lines.push(ev[1] + " " + bytes(ev[2]) + (site ? " at " + site : ""));
      var states = stateAt(series.seq[i]);
      if (states.length) lines.push("state: " + states.join("; "));
      showTip(event, lines);
    });
    hit.addEventListener("mouseleave", function () {
      crosshair.setAttribute("visibility", "hidden");
      hideTip();
    });
    hit.addEventListener("mousedown", function (event) {
      dragFrom = Math.min(Math.max(localX(event), left), left + plotW);
      event.preventDefault();
    });
    window.addEventListener("mouseup", function (event) {
      if (dragFrom === null) return;
      var px = Math.min(Math.max(localX(event), left), left + plotW);
      var a = seqAt(Math.min(dragFrom, px));
      var b = seqAt(Math.max(dragFrom, px));
      dragFrom = null;
      brush.setAttribute("visibility", "hidden");
      if (b - a >= 2) zoomTo(a, b);
    });
    hit.addEventListener("dblclick", function () {
      zoomTo(domain.x0, domain.x1);
    });
    hit.addEventListener(
      "wheel",
      function (event) {
        event.preventDefault();
        var span = view0.x1 - view0.x0;
        if (event.shiftKey || Math.abs(event.deltaX) > Math.abs(event.deltaY)) {
          var delta = ((event.shiftKey ? event.deltaY : event.deltaX) / plotW) * span;
          zoomTo(view0.x0 + delta, view0.x1 + delta);
          return;
        }
        var at = seqAt(localX(event));
        var factor = event.deltaY > 0 ? 1.25 : 0.8;
        zoomTo(at - (at - view0.x0) * factor, at + (view0.x1 - at) * factor);
      },
      { passive: false }
    );
    function zoomTo(a, b) {
      var span = Math.min(Math.max(b - a, 4), domain.x1 - domain.x0);
      a = Math.max(domain.x0, Math.min(a, domain.x1 - span));
      view0.x0 = a;
      view0.x1 = a + span;
      draw();
    }
    reset.addEventListener("click", function () {
      zoomTo(domain.x0, domain.x1);
    });
    panLeft.addEventListener("click", function () {
      var span = view0.x1 - view0.x0;
      zoomTo(view0.x0 - span / 2, view0.x1 - span / 2);
    });
    panRight.addEventListener("click", function () {
      var span = view0.x1 - view0.x0;
      zoomTo(view0.x0 + span / 2, view0.x1 + span / 2);
    });
    draw();
  }

  function contentType(type) {
    return { 20: "ChangeCipherSpec", 21: "Alert", 22: "Handshake", 23: "ApplicationData", 24: "Heartbeat", 25: "Tls12Cid" }[type] || "type " + type;
  }

  // ---------- the flame graph (icicle: the root on top) ----------
  // stacks: {frames: [label], stacks: [[bytes, frame, frame, ...]]}, outermost first.
  function flame(parent, stacks, rootLabel, kind) {
    var root = { name: rootLabel, value: 0, children: new Map(), parent: null };
    (stacks.stacks || []).forEach(function (row) {
      var value = Number(row[0]);
      var node = root;
      root.value += value;
      for (var i = 1; i < row.length; i++) {
        var label = stacks.frames[row[i]];
        label = label === undefined ? "[unknown]" : String(label);
        var child = node.children.get(label);
        if (!child) {
          child = { name: label, value: 0, children: new Map(), parent: node };
          node.children.set(label, child);
        }
        child.value += value;
        node = child;
      }
    });
    var W = 1160;
    var rowH = 18;
    var depth = 0;
    (function measure(node, d) {
      depth = Math.max(depth, d);
      node.children.forEach(function (c) {
        measure(c, d + 1);
      });
    })(root, 1);
    var box = svg("svg", { viewBox: "0 0 " + W + " " + depth * rowH, class: "flame", "data-kind": kind, role: "img" });
    box.appendChild(svg("title", null, rootLabel));
    parent.appendChild(box);
    var focus = root;

    function draw() {
      while (box.childNodes.length > 1) box.removeChild(box.lastChild);
      // the focus's ancestors, full width above it
      var chain = [];
      for (var n = focus; n; n = n.parent) chain.unshift(n);
      chain.forEach(function (node, d) {
        place(node, 0, W, d, node === root);
      });
      lay(focus, 0, W, chain.length - 1);
    }
    function lay(node, x0, width, d) {
      var children = Array.from(node.children.values()).sort(function (a, b) {
        return b.value - a.value;
      });
      var x = x0;
      children.forEach(function (c) {
        var w = node.value > 0 ? (c.value / node.value) * width : 0;
        if (w >= 0.4) {
          place(c, x, w, d + 1, false);
          lay(c, x, w, d + 1);
        }
        x += w;
      });
    }
    function place(node, x0, width, d, isRoot) {
      var g = svg("g");
      var rect = svg("rect", {
        x: x0,
        y: d * rowH,
        width: Math.max(width, 0.5),
        height: rowH - 1,
        fill: isRoot ? "#9aa3b2" : colourOf(node.name),
        class: isRoot ? "flame-root" : "flame-frame",
        "data-bytes": node.value,
        "data-name": node.name,
      });
      g.appendChild(rect);
      if (width > 40) {
        var chars = Math.floor((width - 6) / 6.2);
        var label = node.name + " " + shortBytes(node.value);
        g.appendChild(svg("text", { x: x0 + 3, y: d * rowH + 12.5 }, label.length > chars ? label.slice(0, Math.max(chars - 1, 1)) + "\u2026" : label));
      }
      g.addEventListener("mousemove", function (e) {
        showTip(e, [node.name, bytes(node.value) + (root.value ? " (" + ((node.value / root.value) * 100).toFixed(1) + "% of " + rootLabel + ")" : "")]);
      });
      g.addEventListener("mouseleave", hideTip);
      g.addEventListener("click", function () {
        focus = node === focus && node.parent ? node.parent : node;
        draw();
      });
      box.appendChild(g);
    }
    draw();
    return root.value;
  }

  // ---------- a profile ----------
  function profileView(parent, view, domain, options) {
    var p = view.profile || {};
    var section = html("section", { class: "view", "data-view": view.name });
    parent.appendChild(section);
    section.appendChild(html("h2", null, view.name));
    var run = p.run || {};
    var variant = p.variant || {};
    var summary = html("p", { class: "summary" });
    var parts = [
      ["live peak ", bytes(p.live_peak && p.live_peak.bytes)],
      [" in ", (p.live_peak && p.live_peak.at && (p.live_peak.at.state || p.live_peak.at.phase)) || "—"],
      [" · after the handshake ", bytes(p.steady_state && p.steady_state.live_after_handshake)],
      [" · allocations ", count(p.summary && p.summary.allocations)],
      [" · events ", count(p.summary && p.summary.events)],
    ];
    parts.forEach(function (part) {
      summary.appendChild(document.createTextNode(part[0]));
      summary.appendChild(html("b", null, part[1]));
    });
    section.appendChild(summary);
    var about = [run.scenario && "scenario " + run.scenario, run.side, run.peer && "peer " + run.peer, variant.mbedtls_version && "mbedTLS " + variant.mbedtls_version, variant.abi && "ABI " + variant.abi, variant.config_name, run.trace && "trace " + run.trace].filter(Boolean);
    section.appendChild(html("p", { class: "note" }, about.join(" · ")));
    // Outcomes, each text once with how often it came (a hundred reconnects
    // give a hundred alike).
    var outcomes = new Map();
    (p.outcomes || []).forEach(function (o) {
      var text = o.kind + ": " + (o.ret === 0 ? "ok" : "failed (" + o.ret + ")") + " " + (o.text || "") + (o.state ? " in " + o.state : "");
      outcomes.set(text, (outcomes.get(text) || 0) + 1);
    });
    outcomes.forEach(function (n, text) {
      section.appendChild(html("p", { class: "note" }, text + (n > 1 ? " (\u00d7 " + n + ")" : "")));
    });

    section.appendChild(html("h3", null, "Heap over time"));
    if (!view.timeline) {
      section.appendChild(html("p", { class: "note" }, "From the profile document alone: the states, phases and TLS records over time are in the trace (tlsheap report TRACE --html)."));
    }
    var left = (view.timeline && view.timeline.left_out) || {};
    if (left.bands || left.records || left.failed) {
      section.appendChild(html("p", { class: "note" }, "Left out of the timeline (the page holds at most 100,000 of each): " + count(left.bands || 0) + " bands, " + count(left.records || 0) + " TLS records, " + count(left.failed || 0) + " failed allocations."));
    }
    timeline(section, view, domain);
    if (options.timelineOnly) return;

    section.appendChild(html("h3", null, "Bytes alive at the live peak, by call stack"));
    var peakBytes = p.live_peak ? p.live_peak.bytes : 0;
    if (view.alive_at_peak) {
      flame(section, view.alive_at_peak, "alive at the live peak", "alive-at-peak");
    } else {
      section.appendChild(html("p", { class: "note" }, "From the document: each call site under its first stack."));
      flame(section, documentStacks(p.alive_at_peak || []), "alive at the live peak", "alive-at-peak");
    }
    section.appendChild(html("p", { class: "note" }, "The root is the live peak, " + bytes(peakBytes) + ". Click a frame to zoom into it, click it again to zoom out."));
    if (view.timeline && view.timeline.allocated_by_state) {
      section.appendChild(html("h3", null, "Bytes allocated per state, by call stack"));
      flame(section, view.timeline.allocated_by_state, "allocated", "allocated-per-state");
    }
    tables(section, p);
  }

  // The document's call sites alive at the peak, each as the stack it lists (innermost first).
  function documentStacks(sites) {
    var frames = [];
    var index = new Map();
    var stacks = sites.map(function (site) {
      var chain = (site.stack && site.stack.length ? site.stack : [site.call_site || "[unknown]"]).slice().reverse();
      var row = [site.bytes];
      chain.forEach(function (label) {
        if (!index.has(label)) {
          index.set(label, frames.length);
          frames.push(label);
        }
        row.push(index.get(label));
      });
      return row;
    });
    return { frames: frames, stacks: stacks };
  }

  function tables(section, p) {
    if (p.models && p.models.length) {
      section.appendChild(html("h3", null, "Allocator models"));
      section.appendChild(
        table(
          [
            textColumn("model", "name"),
            numberColumn("footprint", "footprint"),
            numberColumn("used peak", "used_peak"),
            numberColumn("overhead", "overhead"),
            numberColumn("min pool", "min_pool"),
            numberColumn("after handshake", "used_after_handshake"),
            {
              title: "fragmentation",
              num: true,
              key: function (r) {
                return r.fragmentation;
              },
              text: function (r) {
                return (100 * (r.fragmentation || 0)).toFixed(1) + "%";
              },
            },
            numberColumn("failed allocations", "failure_count"),
            textColumn("what it models", "description"),
          ],
          p.models.slice(),
          { class: "models-table" }
        )
      );
    }
    if (p.cycles && p.cycles.length > 1) {
      section.appendChild(html("h3", null, "Cycles: the heap after each round of connections"));
      var cycleRows = p.cycles.map(function (c) {
        var row = { cycle: c.cycle, connections: c.connections, live_peak: c.live_peak, live_at_end: c.live_at_end, leaked: c.leaked };
        (c.models || []).forEach(function (m) {
          row[m.name] = m.footprint;
        });
        return row;
      });
      var cycleColumns = [numberColumn("cycle", "cycle"), numberColumn("connections", "connections"), numberColumn("live peak", "live_peak"), numberColumn("live at end", "live_at_end"), numberColumn("leaked", "leaked")];
      ((p.cycles[0] && p.cycles[0].models) || []).forEach(function (m) {
        cycleColumns.push(numberColumn(m.name + " footprint", m.name));
      });
      section.appendChild(table(cycleColumns, cycleRows, { class: "cycles-table" }));
    }
    // With --stack: the stack next to the heap, and the RAM budget they make.
    if (p.stack) {
      var where = p.stack.at.state ? p.stack.at.state + " (HANDSHAKE)" : p.stack.at.phase;
      section.appendChild(html("h3", null, "Heap and stack"));
      section.appendChild(html("p", { class: "stack-budget" }, "Stack: " + count(p.stack.below_call_bytes) + " bytes below the recorder's call into mbedTLS, deepest in " + where + " (painted stack of " + count(p.stack.painted_bytes) + " bytes). Heap + stack: " + count(p.live_peak.bytes) + " + " + count(p.stack.below_call_bytes) + " = " + count(p.stack.heap_plus_stack_bytes) + " bytes."));
    }
    var stackColumns = p.stack ? [numberColumn("stack", "stack_bytes")] : [];
    if (p.phases && p.phases.length) {
      section.appendChild(html("h3", null, "Phases"));
      section.appendChild(table([textColumn("phase", "phase"), numberColumn("allocations", "allocations"), numberColumn("frees", "frees"), numberColumn("bytes allocated", "bytes_allocated"), numberColumn("peak bytes", "peak_bytes"), numberColumn("live at end", "live_at_end")].concat(stackColumns), p.phases.slice(), { class: "phases-table" }));
    }
    if (p.states && p.states.length) {
      section.appendChild(html("h3", null, "Handshake states"));
      section.appendChild(table([textColumn("state", "state"), numberColumn("steps", "steps"), numberColumn("allocations", "allocations"), numberColumn("frees", "frees"), numberColumn("bytes allocated", "bytes_allocated"), numberColumn("peak bytes", "peak_bytes")].concat(stackColumns), p.states.slice(), { class: "states-table" }));
    }
    if (p.alive_at_peak && p.alive_at_peak.length) {
      section.appendChild(html("h3", null, "Call sites alive at the live peak"));
      section.appendChild(table([textColumn("call site", "call_site"), textColumn("called from", "called_from"), numberColumn("blocks", "blocks"), numberColumn("bytes", "bytes")], p.alive_at_peak.slice(), { class: "sites-table" }));
    }
    if (p.record_buffers && p.record_buffers.length) {
      section.appendChild(html("h3", null, "Record buffers"));
      var buffers = p.record_buffers.map(function (b) {
        return { role: b.role, bytes: b.bytes, state: b.at && (b.at.state || b.at.phase), call_site: b.at && b.at.call_site };
      });
      section.appendChild(table([textColumn("buffer", "role"), numberColumn("bytes", "bytes"), textColumn("allocated in", "state"), textColumn("call site", "call_site")], buffers, { class: "buffers-table" }));
    }
    var leaks = (p.leaks && p.leaks.blocks) || [];
    section.appendChild(html("h3", null, "Leaks"));
    if (!leaks.length) {
      section.appendChild(html("p", { class: "note" }, p.leaks && p.leaks.teardown_reached === false ? "The trace did not reach its teardown: no leak check." : "None: every block was freed by the teardown."));
    } else {
      var rows = leaks.map(function (b) {
        return { bytes: b.bytes, seq: b.seq, state: b.state || b.phase, call_site: b.call_site };
      });
      section.appendChild(table([numberColumn("bytes", "bytes"), numberColumn("allocated at event", "seq"), textColumn("state", "state"), textColumn("call site", "call_site")], rows, { class: "leaks-table" }));
    }
  }

  // ---------- compare: the schemes on one axis ----------
  function compareView(parent, views) {
    var domains = views.map(function (v) {
      return domainOf(v, seriesOf(v));
    });
    var shared = {
      x0: 0,
      x1: Math.max.apply(null, domains.map(function (d) {
        return d.x1;
      })),
      ymax: Math.max.apply(null, domains.map(function (d) {
        return d.ymax;
      })),
    };
    var section = html("section", { class: "compare" });
    parent.appendChild(section);
    section.appendChild(html("h2", null, "Buffer schemes side by side"));
    var rows = views.map(function (v) {
      var p = v.profile || {};
      var row = { scheme: v.name, live_peak: p.live_peak && p.live_peak.bytes, steady: p.steady_state && p.steady_state.live_after_handshake };
      (p.models || []).forEach(function (m) {
        row[m.name] = m.footprint;
      });
      return row;
    });
    var columns = [textColumn("scheme", "scheme"), barColumn("live peak", "live_peak", rows), numberColumn("after handshake", "steady")];
    ((views[0] && views[0].profile && views[0].profile.models) || []).forEach(function (m) {
      columns.push(numberColumn(m.name + " footprint", m.name));
    });
    section.appendChild(table(columns, rows, { class: "compare-table" }));
    section.appendChild(html("p", { class: "note" }, "Every timeline below has the same axes: events of the trace as the scheme would allocate them, bytes."));
    views.forEach(function (v) {
      profileView(section, v, shared, { timelineOnly: true });
    });
  }

  function barColumn(title, field, rows) {
    var top = 1;
    rows.forEach(function (r) {
      if (typeof r[field] === "number" && r[field] > top) top = r[field];
    });
    return {
      title: title,
      num: true,
      key: function (r) {
        return r[field];
      },
      cell: function (td, r) {
        if (typeof r[field] !== "number") {
          td.textContent = "—";
          return;
        }
        var bar = html("span", { class: "bar" });
        bar.style.width = Math.round((r[field] / top) * 160) + "px";
        td.appendChild(bar);
        td.appendChild(document.createTextNode(count(r[field])));
      },
    };
  }

  // ---------- a sweep: the matrix ----------
  function sweepView(parent, sweep) {
    var section = html("section", { class: "sweep" });
    parent.appendChild(section);
    var grid = sweep.grid || {};
    section.appendChild(html("h2", null, "Sweep: " + ((grid.configs || []).length) + " configurations × " + ((grid.scenarios || []).length) + " scenarios"));
    section.appendChild(html("p", { class: "note" }, ["mbedTLS " + grid.mbedtls, "ABI " + grid.abi, grid.heap ? "heap " + bytes(grid.heap) : null, "models " + (grid.models || []).join(", ")].filter(Boolean).join(" · ")));
    var models = grid.models || [];
    var rows = (sweep.cells || []).map(function (c) {
      var p = c.profile || {};
      var row = { config: c.config_label, scenario: c.scenario, status: c.status + (c.error ? ": " + c.error : ""), live_peak: p.live_peak ? p.live_peak.bytes : null, steady: p.steady_state ? p.steady_state.live_after_handshake : null };
      (p.models || []).forEach(function (m) {
        row[m.name] = m.footprint;
        row[m.name + " min pool"] = m.min_pool;
      });
      return row;
    });
    var columns = [textColumn("configuration", "config"), textColumn("scenario", "scenario"), textColumn("status", "status"), barColumn("live peak", "live_peak", rows), numberColumn("after handshake", "steady")];
    models.forEach(function (m) {
      columns.push(barColumn(m + " footprint", m, rows));
      columns.push(numberColumn(m + " min pool", m + " min pool"));
    });
    section.appendChild(table(columns, rows, { class: "sweep-table" }));
    section.appendChild(html("p", { class: "note" }, "Click a column's title to sort by it."));
  }

  // ---------- the page ----------
  document.getElementById("title").textContent = data.title || "tlsheap report";
  var views = data.views || [];
  var subtitle = { profile: views.length > 1 ? "profiles side by side" : "heap profile", compare: "buffer schemes compared", sweep: "sweep" }[data.kind] || "";
  document.getElementById("subtitle").textContent = "tlsheap " + subtitle;
  var main = document.getElementById("report");
  if (data.kind === "sweep" && data.sweep) sweepView(main, data.sweep);
  if (data.kind === "compare") {
    compareView(main, views);
  } else {
    views.forEach(function (v) {
      profileView(main, v, domainOf(v, seriesOf(v)), {});
    });
  }
  document.documentElement.dataset.rendered = "true";
  document.documentElement.dataset.renderMs = String(Math.round(performance.now() - started));
})();
