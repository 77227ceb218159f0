/* KAM — the account-grading dashboard (SPEC §6, §9), drawn with ECharts from the JSON
   block #grading-data (built by kam/web/views/grading.py:chart_data):
   - the value pyramid: a funnel sorted ascending (the narrowest tier, vip, on top),
     each layer's width fixed by its place so it always looks like a pyramid; the label
     says the tier, its number of accounts and its revenue;
   - the Pareto chart: bars = revenue per account, highest first; line = cumulative
     share of revenue (right axis); a marker where the top share of accounts ends.
   No data or no ECharts: the charts are hidden (the tier table says it all) — never an
   error. */
(function () {
  "use strict";

  var TIER_COLOURS = { vip: "#1d4e89", key: "#2f80ed", general: "#5fb8b2", small: "#b8c1cc" };
  var FALLBACK = ["#1d4e89", "#2f80ed", "#5fb8b2", "#b8c1cc", "#98a2b3"];
  var charts = [];


  var compact = window.KAM.compact;
  // tooltips are HTML: every name in them is escaped (account names are user text)
  var esc = window.KAM.escapeHtml;

  function hide(el) {
    if (el) el.hidden = true;
  }

  function drawPyramid(el, tiers) {
    var n = tiers.length;
    var data = tiers.map(function (t, i) {
      return {
        name: t.name,
        value: i + 1, // the width: the first tier is the narrowest (the top)
        count: t.count,
        revenue: t.revenue,
        revenue_text: t.revenue_text,
        share: t.share,
        itemStyle: { color: TIER_COLOURS[t.key] || FALLBACK[i % FALLBACK.length] },
        // the light layers need dark text
        label: { color: t.key === "small" || t.key === "general" ? "#1f2933" : "#fff" },
      };
    });
    var chart = window.echarts.init(el, null, { renderer: "canvas" });
    chart.setOption({
      animation: false,
      tooltip: {
        trigger: "item",
        formatter: function (p) {
          var d = p.data;
          var share = d.share == null ? "" : " (" + d.share + "%)";
          return p.marker + esc(d.name) + "<br>" + esc(d.count) + " · " + esc(d.revenue_text) + esc(share);
        },
      },
      series: [
        {
          type: "funnel",
          sort: "ascending",
          min: 0,
          max: n,
          minSize: "18%",
          maxSize: "100%",
          left: "4%",
          right: "4%",
          top: 8,
          bottom: 8,
          gap: 3,
          label: {
            show: true,
            position: "inside",
            color: "#fff",
            fontSize: 12,
            lineHeight: 16,
            formatter: function (p) {
              return p.data.name + "\n" + p.data.count + " · " + compact(p.data.revenue);
            },
          },
          labelLine: { show: false },
          itemStyle: { borderColor: "#fff", borderWidth: 1 },
          emphasis: { label: { fontWeight: "bold" } },
          data: data,
        },
      ],
    });
    return chart;
  }

  function drawPareto(el, p, text) {
    var many = p.names.length > 24;
    var top = p.top; // how many accounts make the top share
    var line = p.cumulative.slice();
    var markIndex = top > 0 ? top - 1 : null;
    var chart = window.echarts.init(el, null, { renderer: "canvas" });
    chart.setOption({
      animation: false,
      grid: { left: 56, right: 48, top: 48, bottom: many ? 24 : 64 },
      legend: { top: 0, data: [text.revenue, text.cumulative] },
      tooltip: {
        trigger: "axis",
        axisPointer: { type: "shadow" },
        formatter: function (items) {
          if (!items.length) return "";
          var out = esc(items[0].axisValueLabel);
          items.forEach(function (it) {
            var v = it.seriesIndex === 0 ? Number(it.value).toLocaleString() : it.value + "%";
            out += "<br>" + it.marker + esc(it.seriesName) + ": " + esc(v);
          });
          return out;
        },
      },
      xAxis: {
        type: "category",
        data: p.names,
        axisTick: { show: false },
        axisLabel: {
          show: !many,
          interval: 0,
          rotate: p.names.length > 6 ? 35 : 0,
          width: 90,
          overflow: "truncate",
          fontSize: 11,
        },
      },
      yAxis: [
        { type: "value", axisLabel: { formatter: window.KAM.compactAxis }, splitLine: { lineStyle: { color: "#eef0f3" } } },
        { type: "value", min: 0, max: 100, axisLabel: { formatter: "{value}%" }, splitLine: { show: false } },
      ],
      series: [
        {
          name: text.revenue,
          type: "bar",
          data: p.revenue.map(function (v, i) {
            return { value: v, itemStyle: { color: i < top ? "#1d4e89" : "#9ec5f8" } };
          }),
          barMaxWidth: 36,
        },
        {
          name: text.cumulative,
          type: "line",
          yAxisIndex: 1,
          data: line,
          symbolSize: many ? 0 : 6,
          lineStyle: { color: "#f79009", width: 2 },
          itemStyle: { color: "#f79009" },
          markLine:
            markIndex === null
              ? undefined
              : {
                  silent: true,
                  symbol: "none",
                  lineStyle: { color: "#b42318", type: "dashed" },
                  label: { formatter: text.top + " → " + p.ratio + "%", color: "#b42318", position: "end" },
                  data: [{ xAxis: markIndex }],
                },
          markPoint:
            markIndex === null
              ? undefined
              : {
                  symbol: "circle",
                  symbolSize: 10,
                  itemStyle: { color: "#b42318" },
                  label: { show: false },
                  data: [{ coord: [markIndex, line[markIndex]] }],
                },
        },
      ],
    });
    return chart;
  }

  function init() {
    var data = KAM.readJson("grading-data");
    var pyramidEl = document.getElementById("grading-pyramid");
    var paretoEl = document.getElementById("grading-pareto");
    if (!pyramidEl && !paretoEl) return;
    if (!data || typeof window.echarts === "undefined") {
      hide(pyramidEl);
      hide(paretoEl && paretoEl.closest(".card"));
      return;
    }
    try {
      if (pyramidEl) charts.push(drawPyramid(pyramidEl, data.pyramid || []));
    } catch (e) {
      hide(pyramidEl);
      if (window.console) window.console.error(e);
    }
    try {
      if (paretoEl && data.pareto && data.pareto.names.length) {
        charts.push(drawPareto(paretoEl, data.pareto, data.text || {}));
      } else {
        hide(paretoEl && paretoEl.closest(".card"));
      }
    } catch (e) {
      hide(paretoEl && paretoEl.closest(".card"));
      if (window.console) window.console.error(e);
    }
    window.addEventListener("resize", function () {
      charts.forEach(function (c) {
        c.resize();
      });
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
