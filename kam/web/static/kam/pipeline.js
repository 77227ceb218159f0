/* KAM — the manager's dashboard (路标管理, SPEC §8), drawn with ECharts from the JSON
   block #pipeline-data (kam/web/views/pipeline.py:chart_data, i.e. pipeline_body):
   - two funnels side by side, as horizontal bars in process order: open deals by our
     stage (one playbook at a time, tabs when several have deals) and by the buyer's
     stage; a count / amount / weighted switch applies to both;
   - the forecast by expected-close month: amount (light) with the weighted amount over
     it (dark), overdue months in red, the amount won each month as green dots;
   - progress per person: buyer stages advanced, deals advanced, our stage advances, won.
   A click on a bar (or anywhere in its row / column) loads the deals behind it into the
   drill-down dialog through htmx (GET /pipeline/deals/?figure=…), as the number links of
   the page do. No data or no ECharts: the charts are hidden and their tables opened. */
(function () {
  "use strict";

  var charts = [];
  var data = null;
  var text = {};
  var mode = "count";

  // the page's font (PingFang / Noto CJK …), so the charts read like the rest of the page
  function font() {
    return window.getComputedStyle(document.body).fontFamily || "sans-serif";
  }

  function num(value) {
    return Number(value) || 0;
  }

  // 1.72亿 / 5,265.1万 in Chinese, 172.5M / 52.7k in English (as the view's `compact`).
  var compact = window.KAM.compact;

  var axisCompact = window.KAM.compactAxis;

  function exact(value) {
    return num(value).toLocaleString("en-US", { maximumFractionDigits: 2 });
  }

  function esc(value) {
    return window.KAM.escapeHtml(value);
  }

  function measure(value, which) {
    return which === "count" ? String(num(value)) : compact(value);
  }

  // --- drill-down ----------------------------------------------------------------------

  function drill(figure) {
    if (!figure || !data) return;
    var url = data.drill_url + encodeURIComponent(figure);
    if (window.htmx) {
      window.htmx.ajax("GET", url, { target: "#pipeline-drill", swap: "innerHTML" });
    } else {
      window.location.href = url;
    }
  }

  function setUpDialog() {
    var dialog = document.getElementById("pipeline-drill-dialog");
    var target = document.getElementById("pipeline-drill");
    if (!dialog || !target) return;
    function open() {
      if (dialog.open) return;
      if (typeof dialog.showModal === "function") dialog.showModal();
      else dialog.setAttribute("open", "");
    }
    function isTarget(event) {
      return event.detail && event.detail.target === target;
    }
    document.body.addEventListener("htmx:beforeRequest", function (event) {
      if (!isTarget(event)) return;
      target.classList.add("is-loading");
      open();
    });
    // the partial answers 422 with the message for a bad figure or filter: show it
    document.body.addEventListener("htmx:beforeSwap", function (event) {
      if (isTarget(event) && event.detail.xhr && event.detail.xhr.status === 422) {
        event.detail.shouldSwap = true;
        event.detail.isError = false;
      }
    });
    document.body.addEventListener("htmx:afterSwap", function (event) {
      if (!isTarget(event)) return;
      target.classList.remove("is-loading");
      open();
      dialog.scrollTop = 0;
      var title = target.querySelector("h2");
      if (title) {
        title.setAttribute("tabindex", "-1");
        title.focus({ preventScroll: true });
      }
    });
    ["htmx:responseError", "htmx:sendError"].forEach(function (name) {
      document.body.addEventListener(name, function (event) {
        if (!isTarget(event)) return;
        target.classList.remove("is-loading");
        target.innerHTML = '<p class="form-errors" role="alert">' + esc(text.failed) + "</p>";
        open();
      });
    });
    // a click on the backdrop closes the dialog
    dialog.addEventListener("click", function (event) {
      if (event.target === dialog) dialog.close();
    });
  }

  // A click anywhere in a bar's row (horizontal charts) or column (the forecast) counts,
  // so thin bars are easy to hit; `handler(index, point)` gets the category's index.
  function onCategoryClick(chart, horizontal, count, handler) {
    var zr = chart.getZr();
    function indexAt(event) {
      var point = [event.offsetX, event.offsetY];
      if (!chart.containPixel("grid", point)) return null;
      var value = chart.convertFromPixel({ gridIndex: 0 }, point);
      var index = Math.round(horizontal ? value[1] : value[0]);
      return index >= 0 && index < count() ? index : null;
    }
    zr.on("click", function (event) {
      var index = indexAt(event);
      if (index !== null) handler(index, [event.offsetX, event.offsetY]);
    });
    zr.on("mousemove", function (event) {
      if (indexAt(event) !== null) zr.setCursorStyle("pointer");
    });
  }

  // --- funnels ---------------------------------------------------------------------------

  function shade(from, to, i, n) {
    var t = n > 1 ? i / (n - 1) : 1;
    var mix = function (a, b) {
      return Math.round(a + (b - a) * t);
    };
    return "rgb(" + mix(from[0], to[0]) + "," + mix(from[1], to[1]) + "," + mix(from[2], to[2]) + ")";
  }

  function funnelOption(rows, which, colours, numbered, labelWidth) {
    var names = rows.map(function (r, i) {
      return numbered ? i + 1 + ". " + r.name : r.name;
    });
    return {
      animation: false,
      textStyle: { fontFamily: font() },
      grid: { left: 4, right: 70, top: 4, bottom: 4, containLabel: true },
      tooltip: {
        trigger: "item",
        confine: true,
        formatter: function (p) {
          var r = rows[p.dataIndex];
          return (
            "<strong>" + esc(names[p.dataIndex]) + "</strong><br>" +
            esc(text.count) + ": " + r.count + "<br>" +
            esc(text.amount) + ": " + exact(r.amount) + "<br>" +
            esc(text.weighted) + ": " + exact(r.weighted) +
            '<br><span style="color:#667085">' + esc(text.click) + "</span>"
          );
        },
      },
      xAxis: { type: "value", show: false, max: function (v) { return v.max > 0 ? v.max : 1; } },
      yAxis: {
        type: "category",
        data: names,
        inverse: true,
        triggerEvent: true,
        axisTick: { show: false },
        axisLine: { lineStyle: { color: "#d0d5dd" } },
        axisLabel: { color: "#1f2933", fontSize: 12, fontFamily: font(), width: labelWidth, overflow: "truncate" },
      },
      series: [
        {
          type: "bar",
          barMaxWidth: 24,
          barMinHeight: 2,
          data: rows.map(function (r, i) {
            return { value: num(r[which]), itemStyle: { color: shade(colours[0], colours[1], i, rows.length), borderRadius: [0, 3, 3, 0] } };
          }),
          label: {
            show: true,
            position: "right",
            color: "#1f2933",
            fontSize: 12,
            formatter: function (p) {
              return measure(p.value, which);
            },
          },
        },
      ],
    };
  }

  function drawFunnel(el, getRows, colours, numbered) {
    var chart = window.echarts.init(el, null, { renderer: "canvas" });
    function draw() {
      // the stage names get up to 38% of the chart's width; a longer one ends in "…"
      var labelWidth = Math.round(Math.min(240, Math.max(90, el.clientWidth * 0.38)));
      chart.setOption(funnelOption(getRows(), mode, colours, numbered, labelWidth), true);
    }
    draw();
    onCategoryClick(chart, true, function () { return getRows().length; }, function (index) {
      drill(getRows()[index].drill);
    });
    chart.on("click", { componentType: "yAxis" }, function (p) {
      var rows = getRows();
      for (var i = 0; i < rows.length; i++) {
        var name = numbered ? i + 1 + ". " + rows[i].name : rows[i].name;
        if (name === p.value) return drill(rows[i].drill);
      }
    });
    chart.redraw = draw;
    return chart;
  }

  function setUpFunnels() {
    var stageEl = document.getElementById("funnel-stage");
    var buyerEl = document.getElementById("funnel-buyer");
    if (!stageEl || !buyerEl) return [];
    var books = [];
    (data.by_stage || []).forEach(function (row) {
      var last = books[books.length - 1];
      if (!last || last.key !== row.playbook) books.push((last = { key: row.playbook, rows: [] }));
      last.rows.push(row);
    });
    var current = books.length ? books[0] : { rows: [] };
    var drawn = [
      drawFunnel(stageEl, function () { return current.rows; }, [[159, 197, 248], [29, 78, 137]], false),
      drawFunnel(buyerEl, function () { return data.by_buyer_stage || []; }, [[167, 224, 218], [14, 110, 110]], true),
    ];
    var tabs = document.querySelector("[data-playbook-tabs]");
    if (tabs) {
      tabs.hidden = false;
      tabs.addEventListener("click", function (event) {
        var tab = event.target.closest("[data-playbook-tab]");
        if (!tab) return;
        books.forEach(function (b) {
          if (b.key === tab.dataset.playbookTab) current = b;
        });
        tabs.querySelectorAll("[data-playbook-tab]").forEach(function (t) {
          t.setAttribute("aria-selected", String(t === tab));
        });
        drawn[0].redraw();
      });
    }
    var modes = document.querySelector("[data-funnel-modes]");
    if (modes) {
      modes.hidden = false;
      modes.addEventListener("click", function (event) {
        var button = event.target.closest("[data-funnel-mode]");
        if (!button) return;
        mode = button.dataset.funnelMode;
        modes.querySelectorAll("[data-funnel-mode]").forEach(function (b) {
          b.setAttribute("aria-pressed", String(b === button));
        });
        drawn.forEach(function (c) {
          c.redraw();
        });
      });
    }
    return drawn;
  }

  // --- forecast ------------------------------------------------------------------------

  function drawForecast(el, months) {
    var cats = months.map(function (m) {
      return m.month;
    });
    var many = cats.length * 64 > el.clientWidth; // labels turned when they would touch
    var chart = window.echarts.init(el, null, { renderer: "canvas" });
    var thisMonth = cats.indexOf(data.this_month);
    chart.setOption({
      animation: false,
      textStyle: { fontFamily: font() },
      legend: { top: 0, data: [text.amount, text.weighted, text.won_amount] },
      grid: { left: 8, right: 16, top: 50, bottom: 4, containLabel: true },
      tooltip: {
        trigger: "axis",
        confine: true,
        axisPointer: { type: "shadow" },
        formatter: function (items) {
          if (!items.length) return "";
          var m = months[items[0].dataIndex];
          var out = "<strong>" + esc(m.month) + "</strong>";
          if (m.overdue) out += '<br><span style="color:#b42318">' + esc(text.overdue) + "</span>";
          out += "<br>" + esc(text.count) + ": " + m.count;
          out += "<br>" + esc(text.amount) + ": " + exact(m.amount);
          out += "<br>" + esc(text.weighted) + ": " + exact(m.weighted);
          if (m.won_count) {
            out += "<br>" + esc(text.won) + ": " + m.won_count + " · " + exact(m.won_amount);
          }
          return out + '<br><span style="color:#667085">' + esc(text.click) + "</span>";
        },
      },
      xAxis: {
        type: "category",
        data: cats,
        axisTick: { alignWithLabel: true },
        axisLabel: {
          fontSize: 11,
          fontFamily: font(),
          rotate: many ? 40 : 0,
          color: function (value, index) {
            return months[index] && months[index].overdue ? "#b42318" : "#475467";
          },
        },
      },
      yAxis: {
        type: "value",
        axisLabel: { formatter: axisCompact, fontSize: 11, fontFamily: font() },
        splitLine: { lineStyle: { color: "#eef0f3" } },
      },
      series: [
        {
          name: text.amount,
          type: "bar",
          barMaxWidth: 34,
          barGap: "-100%",
          itemStyle: { color: "#b9d4f7" },
          data: months.map(function (m) {
            return { value: num(m.amount), itemStyle: m.overdue ? { color: "#f6c2bd" } : undefined };
          }),
          markLine:
            thisMonth < 0
              ? undefined
              : {
                  silent: true,
                  symbol: "none",
                  lineStyle: { color: "#98a2b3", type: "dashed" },
                  label: { formatter: text.this_month, color: "#667085", position: "end" },
                  data: [{ xAxis: thisMonth }],
                },
        },
        {
          name: text.weighted,
          type: "bar",
          barMaxWidth: 34,
          barGap: "-100%",
          itemStyle: { color: "#1d4e89" },
          data: months.map(function (m) {
            return { value: num(m.weighted), itemStyle: m.overdue ? { color: "#b42318" } : undefined };
          }),
        },
        {
          name: text.won_amount,
          type: "line",
          connectNulls: false,
          symbol: "circle",
          symbolSize: 11,
          lineStyle: { color: "#1e7b4c", width: 2 },
          itemStyle: { color: "#1e7b4c", borderColor: "#fff", borderWidth: 2 },
          data: months.map(function (m) {
            return num(m.won_amount) > 0 ? num(m.won_amount) : null;
          }),
        },
      ],
    });
    // the green dot lists the deals won that month; the rest of the column the open ones
    onCategoryClick(chart, false, function () { return months.length; }, function (index, point) {
      var m = months[index];
      if (num(m.won_amount) > 0) {
        var dot = chart.convertToPixel({ seriesIndex: 2 }, [index, num(m.won_amount)]);
        var near = Math.abs(dot[0] - point[0]) <= 12 && Math.abs(dot[1] - point[1]) <= 12;
        if (near || !m.count) return drill(m.won_drill);
      }
      drill(m.drill);
    });
    return chart;
  }

  // --- progress per person -------------------------------------------------------------

  function drawReps(el, reps) {
    el.style.height = Math.max(180, 64 + reps.length * 64) + "px";
    var names = reps.map(function (r) {
      return r.owner.name;
    });
    var series = [
      { key: "stages_advanced", name: text.stages_advanced, color: "#1d4e89", figure: "drill" },
      { key: "deals_advanced", name: text.deals_advanced, color: "#53b1fd", figure: "drill" },
      { key: "seller_advances", name: text.seller_advances, color: "#98a2b3", figure: "advances_drill" },
      { key: "won_count", name: text.won_count, color: "#1e7b4c", figure: "won_drill" },
    ];
    var chart = window.echarts.init(el, null, { renderer: "canvas" });
    chart.setOption({
      animation: false,
      textStyle: { fontFamily: font() },
      legend: { top: 0, itemWidth: 14, itemHeight: 10, textStyle: { fontSize: 12 } },
      grid: { left: 4, right: 36, top: 32, bottom: 4, containLabel: true },
      tooltip: { trigger: "axis", confine: true, axisPointer: { type: "shadow" } },
      xAxis: { type: "value", minInterval: 1, splitLine: { lineStyle: { color: "#eef0f3" } } },
      yAxis: {
        type: "category",
        data: names,
        inverse: true,
        axisTick: { show: false },
        axisLabel: { fontSize: 12, fontFamily: font(), color: "#1f2933", width: 110, overflow: "truncate" },
      },
      series: series.map(function (s) {
        return {
          name: s.name,
          type: "bar",
          barMaxWidth: 12,
          barGap: "15%",
          itemStyle: { color: s.color },
          cursor: s.figure ? "pointer" : "default",
          label: {
            show: true,
            position: "right",
            fontSize: 11,
            color: "#475467",
            formatter: function (p) {
              return p.value ? String(p.value) : "";
            },
          },
          data: reps.map(function (r) {
            return num(r[s.key]);
          }),
        };
      }),
    });
    chart.on("click", { componentType: "series" }, function (p) {
      var s = series[p.seriesIndex];
      if (s && s.figure) drill(reps[p.dataIndex][s.figure]);
    });
    return chart;
  }

  // --- the filter form: a named period or two dates, not both ---------------------------

  function setUpFilters() {
    var form = document.querySelector('[data-testid="pipeline-filters"]');
    if (!form) return;
    var period = form.querySelector('select[name="period"]');
    var dates = form.querySelectorAll('input[name="start"], input[name="end"]');
    if (!period) return;
    period.addEventListener("change", function () {
      if (period.value) {
        dates.forEach(function (d) {
          d.value = "";
        });
      }
    });
    dates.forEach(function (d) {
      d.addEventListener("input", function () {
        if (d.value) period.value = "";
      });
    });
  }

  // --- start ---------------------------------------------------------------------------

  function fallBack() {
    document.querySelectorAll(".pipeline-chart").forEach(function (el) {
      el.hidden = true;
    });
    document.querySelectorAll("details.chart-numbers").forEach(function (d) {
      d.open = true;
    });
  }

  function attempt(draw) {
    try {
      var made = draw();
      (Array.isArray(made) ? made : [made]).forEach(function (c) {
        if (c) charts.push(c);
      });
    } catch (e) {
      if (window.console) window.console.error(e);
    }
  }

  function init() {
    data = window.KAM.readJson("pipeline-data");
    text = (data && data.text) || {};
    setUpDialog();
    setUpFilters();
    if (!data || typeof window.echarts === "undefined") {
      fallBack();
      return;
    }
    attempt(setUpFunnels);
    var forecastEl = document.getElementById("forecast-chart");
    if (forecastEl && (data.forecast || []).length) {
      attempt(function () {
        return drawForecast(forecastEl, data.forecast);
      });
    }
    var repEl = document.getElementById("rep-chart");
    var reps = (data.progress && data.progress.by_rep) || [];
    if (repEl && reps.length) {
      attempt(function () {
        return drawReps(repEl, reps);
      });
    }
    window.addEventListener("resize", function () {
      charts.forEach(function (c) {
        c.resize();
        if (c.redraw) c.redraw();
      });
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
