// The hits-over-time histogram (uPlot), for the search page and the backtest preview.
//
// Markup: <div role="img" aria-label="Hits over time" data-hits='{"x": [ms...], "y": [n...],
// "step": ms}' data-markers='[ms...]' data-time-zone="Europe/Madrid"></div>
// Drawn whenever htmx loads content holding such an element. Dragging across the chart
// dispatches a "hits:select" CustomEvent on the element, detail {from: ms, to: ms}.
// Markers (backtest firings) are drawn as red lines with a dot at the top.
"use strict";
(function () {
  function draw(el) {
    if (el.dataset.drawn) return;
    el.dataset.drawn = "1";
    var hits = JSON.parse(el.dataset.hits || '{"x": [], "y": [], "step": 1000}');
    var markers = JSON.parse(el.dataset.markers || "[]");
    var zone = el.dataset.timeZone || document.body.dataset.timeZone || "UTC";
    var step = (hits.step || 1000) / 1000;
    var xs = hits.x.map(function (ms) { return ms / 1000; });
    var width = Math.max(300, el.clientWidth || el.parentElement.clientWidth || 800);
    var opts = {
      width: width,
      height: parseInt(el.dataset.height || "140", 10),
      tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1000), zone); },
      legend: { show: false },
      cursor: { drag: { x: true, y: false, setScale: false } },
      scales: { x: { time: true, range: function (u, min, max) {
        return [Math.min(min, max), Math.max(min, max) + step];
      } } },
      // A 24-hour clock, with the date when the range spans days and seconds when it is short.
      axes: [{ values: function (u, splits) {
        var span = splits.length > 1 ? splits[splits.length - 1] - splits[0] : 0;
        var format = uPlot.fmtDate(span > 2 * 86400 ? "{MM}-{DD} {HH}:{mm}" :
          span < 300 ? "{HH}:{mm}:{ss}" : "{HH}:{mm}");
        return splits.map(function (ts) { return format(opts.tzDate(ts)); });
      } }, { size: 50 }],
      series: [{}, {
        label: "hits", fill: "rgba(36, 87, 197, 0.35)", stroke: "#2457c5", width: 1,
        paths: uPlot.paths.bars({ size: [0.9, Infinity], align: 1 }), points: { show: false },
      }],
      hooks: {
        draw: [function (u) {
          if (!markers.length) return;
          var ctx = u.ctx;
          ctx.save();
          ctx.strokeStyle = "#b42318";
          ctx.fillStyle = "#b42318";
          ctx.lineWidth = 2;
          markers.forEach(function (ms) {
            var x = u.valToPos(ms / 1000, "x", true);
            if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) return;
            ctx.beginPath();
            ctx.moveTo(x, u.bbox.top);
            ctx.lineTo(x, u.bbox.top + u.bbox.height);
            ctx.stroke();
            ctx.beginPath();
            ctx.arc(x, u.bbox.top + 4, 4, 0, 2 * Math.PI);
            ctx.fill();
          });
          ctx.restore();
        }],
        setSelect: [function (u) {
          if (u.select.width < 2) return;
          var from = Math.floor(u.posToVal(u.select.left, "x") * 1000);
          var to = Math.ceil(u.posToVal(u.select.left + u.select.width, "x") * 1000);
          u.setSelect({ left: 0, width: 0 }, false);
          el.dispatchEvent(new CustomEvent("hits:select", { bubbles: true, detail: { from: from, to: to } }));
        }],
      },
    };
    el.textContent = "";
    el.chart = new uPlot(opts, [xs, hits.y], el);
    el.dataset.buckets = String(xs.length);
    el.dataset.markerCount = String(markers.length);
  }
  function drawAll(root) {
    (root.querySelectorAll ? root : document).querySelectorAll("[data-hits]").forEach(draw);
    if (root.matches && root.matches("[data-hits]")) draw(root);
  }
  document.addEventListener("htmx:load", function (event) { drawAll(event.target); });
  document.addEventListener("DOMContentLoaded", function () { drawAll(document); });
})();
