/* KAM — the account page's needs radar and satisfaction line (SPEC §6), drawn with
   ECharts from the JSON blocks #needs-radar-data and #satisfaction-data (built by
   kam/web/views/account_profile.py), and the needs form's "add a row" / "remove".
   The tables under the charts say the same, so no data or no ECharts means no
   drawing — never an error. */
(function () {
  "use strict";

  var INK = "#1f2933";
  var MUTED = "#667085";
  var LINE = "#e3e7ee";
  var CUSTOMER = "#1d4e89"; // importance to the customer
  var US = "#1e9e62"; // our fit
  var SHORT = "#b42318";

  var readJson = KAM.readJson;

  var escapeHtml = KAM.escapeHtml;

  function charts() {
    return window.echarts && typeof window.echarts.init === "function";
  }

  function drawRadar() {
    var el = document.getElementById("needs-radar");
    var data = readJson("needs-radar-data");
    if (!el || !data || !charts()) return null;
    var chart = window.echarts.init(el, null, { renderer: "canvas" });
    var short = data.shortfall || [];
    chart.setOption({
      animation: false,
      color: [CUSTOMER, US],
      tooltip: { trigger: "item", confine: true },
      legend: { bottom: 0, textStyle: { color: INK }, itemGap: 18 },
      radar: {
        radius: "66%",
        center: ["50%", "48%"],
        splitNumber: 5,
        indicator: data.indicators.map(function (ind) {
          return { name: ind.name, max: ind.max, min: 0 };
        }),
        axisName: {
          color: INK,
          fontSize: 12,
          formatter: function (name, ind) {
            var i = data.indicators.findIndex(function (x) {
              return x.name === name;
            });
            return short[i] ? "{short|" + name + " ▼}" : name;
          },
          rich: { short: { color: SHORT, fontWeight: 600, fontSize: 12 } },
        },
        splitLine: { lineStyle: { color: LINE } },
        splitArea: { areaStyle: { color: ["#ffffff", "#fafbfc"] } },
        axisLine: { lineStyle: { color: LINE } },
      },
      series: [
        {
          type: "radar",
          symbolSize: 5,
          data: [
            {
              name: data.text.importance,
              value: data.importance,
              areaStyle: { opacity: 0.12 },
              lineStyle: { width: 2 },
            },
            {
              name: data.text.fit,
              value: data.fit,
              areaStyle: { opacity: 0.18 },
              lineStyle: { width: 2, type: "dashed" },
            },
          ],
        },
      ],
    });
    return chart;
  }

  function drawSatisfaction() {
    var el = document.getElementById("satisfaction-chart");
    var data = readJson("satisfaction-data");
    if (!el || !data || !charts()) return null;
    var levels = data.levels || {};
    var chart = window.echarts.init(el, null, { renderer: "canvas" });
    chart.setOption({
      animation: false,
      grid: { left: 36, right: 16, top: 12, bottom: 28 },
      tooltip: {
        trigger: "item",
        confine: true,
        formatter: function (p) {
          var point = data.points[p.dataIndex] || {};
          var lines = [
            escapeHtml(point.date) + " · <b>" + escapeHtml(point.score) + " – " +
              escapeHtml(levels[String(point.score)] || "") + "</b>",
          ];
          if (point.who) lines.push(escapeHtml(point.who));
          if (point.note) lines.push(escapeHtml(point.note));
          return lines.join("<br>");
        },
      },
      xAxis: {
        type: "time",
        axisLine: { lineStyle: { color: LINE } },
        axisLabel: { color: MUTED, hideOverlap: true },
        splitLine: { show: false },
      },
      yAxis: {
        type: "value",
        min: 1,
        max: 5,
        interval: 1,
        axisLabel: { color: MUTED },
        splitLine: { lineStyle: { color: LINE } },
      },
      series: [
        {
          name: data.text.score,
          type: "line",
          symbolSize: 8,
          color: CUSTOMER,
          lineStyle: { width: 2 },
          data: data.points.map(function (p) {
            return [p.date, p.score];
          }),
          markArea: {
            silent: true,
            itemStyle: { color: "rgba(180, 35, 24, 0.05)" },
            data: [[{ yAxis: 1 }, { yAxis: 2.5 }]],
          },
        },
      ],
    });
    return chart;
  }

  // --- the needs form: add a row, mark one removed --------------------------------

  function setUpNeedsForm() {
    var form = document.querySelector("[data-testid=needs-form]");
    if (!form) return;
    var total = form.querySelector("input[name=needs-TOTAL_FORMS]");
    var body = form.querySelector("[data-needs-rows]");
    var template = document.getElementById("need-row-template");
    var add = form.querySelector("[data-needs-add]");
    var max = parseInt(form.getAttribute("data-max"), 10) || 20;

    function mark(box) {
      var row = box.closest("tr");
      if (row) row.classList.toggle("is-removed", box.checked);
    }

    form.addEventListener("change", function (event) {
      var box = event.target;
      if (box && box.name && /-DELETE$/.test(box.name)) mark(box);
    });
    form.querySelectorAll("input[name$='-DELETE']").forEach(mark);

    if (!total || !body || !template || !add) return;
    function refresh() {
      add.disabled = parseInt(total.value, 10) >= max;
    }
    add.hidden = false;
    refresh();
    add.addEventListener("click", function () {
      var n = parseInt(total.value, 10) || 0;
      if (n >= max) return;
      var html = template.innerHTML.replace(/__prefix__/g, String(n));
      body.insertAdjacentHTML("beforeend", html);
      total.value = String(n + 1);
      var rows = body.querySelectorAll("tr.need-row");
      var input = rows[rows.length - 1].querySelector("input[type=text]");
      if (input) input.focus();
      refresh();
    });
  }

  function init() {
    setUpNeedsForm();
    var drawn = [drawRadar(), drawSatisfaction()].filter(Boolean);
    if (!drawn.length) return;
    window.addEventListener("resize", function () {
      drawn.forEach(function (c) {
        c.resize();
      });
    });
    // a chart inside a closed <details> or a card that changed width
    if (window.ResizeObserver) {
      var ro = new ResizeObserver(function () {
        drawn.forEach(function (c) {
          c.resize();
        });
      });
      ["needs-radar", "satisfaction-chart"].forEach(function (id) {
        var el = document.getElementById(id);
        if (el) ro.observe(el);
      });
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
