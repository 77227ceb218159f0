/* KAM — the competition radar on the opportunity page (竞争对手分析表, SPEC §6, §9).
   Draws us and each rival over the criteria of the scoring table with ECharts, from the
   JSON block #competition-data (built by kam/web/views/competition.py): one axis per
   criterion from 0 to 5, our series bold and filled in the brand blue, each rival a
   thinner dashed line in its own colour (the same colour as its swatch in the totals
   and the table). The axes run clockwise from the top in the table's order.
   A criterion a party is not scored on is not drawn as a score: ECharts would put it at
   the centre (a zero that nobody gave), so the shape goes straight from the party's
   previous scored axis to its next one (the point on that chord is computed here) and
   the party's dots are left out; the tooltip and the table say "not scored".
   Also: a Remove button with data-confirm asks before submitting.
   No data, no ECharts or no series: nothing is drawn (the table says it all). */
(function () {
  "use strict";


  var escapeHtml = KAM.escapeHtml;

  // The radius on axis k of the straight line between the points on axes a and b
  // (radii ra, rb; angles as multiples of the step between two axes).
  function onChord(ra, rb, a, b, k, step) {
    var span = (b - a) * step;
    if (span >= Math.PI - 1e-9) return 0; // half the circle or more: the chord passes the centre
    var denominator = ra * Math.sin((k - a) * step) + rb * Math.sin((b - k) * step);
    return denominator > 0 ? (ra * rb * Math.sin(span)) / denominator : 0;
  }

  // Unscored axes filled in on the chord between the neighbouring scored ones.
  function bridged(values) {
    var n = values.length;
    var step = (2 * Math.PI) / n;
    var scored = [];
    values.forEach(function (v, i) { if (v != null) scored.push(i); });
    if (!scored.length) return values.map(function () { return 0; });
    return values.map(function (v, k) {
      if (v != null) return v;
      var before = null;
      var after = null;
      for (var d = 1; d < n; d++) {
        if (before == null && values[(k - d + n) % n] != null) before = k - d;
        if (after == null && values[(k + d) % n] != null) after = k + d;
      }
      if (before == null || after == null || (before + n) % n === (after + n) % n) return 0;
      return onChord(values[(before + n) % n], values[after % n], before, after, k, step);
    });
  }

  function seriesItem(s) {
    var us = !!s.us;
    var complete = s.values.every(function (v) { return v != null; });
    return {
      name: s.name,
      value: complete ? s.values.slice() : bridged(s.values),
      symbol: complete ? "circle" : "none",
      symbolSize: us ? 7 : 5,
      z: us ? 3 : 2,
      itemStyle: { color: s.colour },
      lineStyle: { color: s.colour, width: us ? 3 : 1.6, type: us ? "solid" : "dashed" },
      areaStyle: us ? { color: s.colour, opacity: 0.18 } : { opacity: 0 },
      emphasis: { lineStyle: { width: us ? 4 : 2.6 } }
    };
  }

  function tooltip(data, params) {
    var s = data.series[params.dataIndex];
    if (!s) return "";
    var head = "<strong>" + escapeHtml(s.name) + "</strong>" +
      (s.total == null ? "" : " · " + escapeHtml(Number(s.total).toFixed(1)));
    var rows = data.indicators.map(function (ind, i) {
      var v = s.values[i];
      return escapeHtml(ind.name) + ": " +
        (v == null ? '<span style="color:#98a2b3">' + escapeHtml(data.text.unscored) + "</span>" : v);
    });
    return head + "<br>" + rows.join("<br>");
  }

  function draw() {
    var el = document.getElementById("competition-chart");
    var data = KAM.readJson("competition-data");
    if (!el || !data || !data.series || !data.series.length) {
      if (el) el.hidden = true;
      return;
    }
    if (typeof window.echarts === "undefined") {
      el.hidden = true;
      return;
    }
    var chart = window.echarts.init(el, null, { renderer: "svg" });
    // rivals first so that our shape is drawn on top
    var ordered = data.series.slice().sort(function (a, b) { return (a.us ? 1 : 0) - (b.us ? 1 : 0); });
    chart.setOption({
      animation: false,
      color: data.series.map(function (s) { return s.colour; }),
      legend: {
        bottom: 0,
        data: data.series.map(function (s) { return s.name; }),
        textStyle: { fontSize: 12 }
      },
      tooltip: {
        trigger: "item",
        confine: true,
        formatter: function (params) {
          var index = data.series.findIndex(function (s) { return s.name === params.name; });
          return tooltip(data, { dataIndex: index });
        }
      },
      radar: {
        center: ["50%", "48%"],
        radius: "62%",
        startAngle: 90,
        clockwise: true,
        splitNumber: 5,
        indicator: data.indicators.map(function (ind) { return { name: ind.name, min: 0, max: ind.max }; }),
        axisName: { color: "#475467", fontSize: 12 },
        splitLine: { lineStyle: { color: "#e3e7ee" } },
        splitArea: { areaStyle: { color: ["#ffffff", "#f8fafc"] } },
        axisLine: { lineStyle: { color: "#d0d5dd" } }
      },
      series: [{ type: "radar", data: ordered.map(seriesItem) }]
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }

  // A Remove button in the scoring form asks first (kam.js handles form[data-confirm]).
  document.addEventListener("click", function (event) {
    var button = event.target.closest("#competition button[data-confirm]");
    if (button && !window.confirm(button.dataset.confirm)) event.preventDefault();
  });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
