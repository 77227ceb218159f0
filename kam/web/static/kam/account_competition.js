/* KAM — the account page's competition card (SPEC §6).
   - Draws the competition map's shares as one horizontal 100% bar with ECharts, from
     the JSON block #competition-chart-data (built by kam/web/views/account_competition.py):
     us in green, rivals in warm tones, the incumbent outlined and starred, the part
     nobody mapped in grey. No data or no ECharts: no drawing (the table says it all).
   - The map form: "Add a supplier" clones the empty row of the formset (<template>),
     × clears a row and hides it (a blank row is no supplier), and the total of the
     shares is shown as it is typed, in red above 100. */
(function () {
  "use strict";


  var escapeHtml = KAM.escapeHtml;

  function pct(value) {
    return (Math.round(value * 100) / 100).toString() + "%";
  }

  function drawChart() {
    var el = document.getElementById("competition-chart");
    var data = KAM.readJson("competition-chart-data");
    if (!el || !data || typeof window.echarts === "undefined") {
      if (el) el.hidden = true;
      return;
    }
    var text = data.text || {};
    var colours = data.colours || {};
    var parts = (data.parties || []).map(function (p) {
      return {
        name: p.name,
        share: p.share,
        colour: p.colour,
        us: p.us,
        incumbent: p.incumbent,
      };
    });
    if (data.not_mapped > 0) {
      parts.push({ name: text.not_mapped, share: data.not_mapped, colour: colours.not_mapped, other: true });
    }
    function textWidth(s) {
      // CJK characters are about a font size wide, Latin ones about 0.6 of it
      var w = 0;
      for (var i = 0; i < s.length; i++) w += s.charCodeAt(i) > 0x2e80 ? 12 : 7;
      return w;
    }
    var series = parts.map(function (p) {
      var label = (p.incumbent ? "★ " : "") + p.name;
      return {
        name: p.name,
        type: "bar",
        stack: "share",
        barWidth: 40,
        data: [p.share],
        itemStyle: {
          color: p.colour,
          borderColor: p.incumbent ? colours.incumbent_border : "#fff",
          borderWidth: p.incumbent ? 2 : 1,
        },
        label: {
          show: true,
          position: "inside",
          color: p.other ? "#475467" : "#fff",
          fontSize: 12,
          fontWeight: p.us ? "bold" : "normal",
          overflow: "truncate",
          formatter: function (params) {
            // What fits in the segment: the name and share, else the share, else nothing
            // (a narrow supplier is still named in the legend and the table).
            var px = (el.clientWidth || 600) * params.value / 100;
            var full = label + "  " + pct(params.value);
            if (textWidth(full) + 12 <= px) return full;
            if (textWidth(pct(params.value)) + 8 <= px) return pct(params.value);
            return "";
          },
        },
        emphasis: { focus: "series" },
        tooltip: {
          formatter: function () {
            var tags = [];
            if (p.us) tags.push(text.us);
            if (p.incumbent) tags.push("★ " + text.incumbent);
            return (
              "<strong>" + escapeHtml(p.name) + "</strong>" +
              (tags.length ? " <span style='color:#667085'>(" + escapeHtml(tags.join(", ")) + ")</span>" : "") +
              "<br>" + escapeHtml(text.share) + ": " + pct(p.share)
            );
          },
        },
      };
    });
    var chart = window.echarts.init(el, null, { renderer: "svg" });
    chart.setOption({
      animation: false,
      grid: { left: 2, right: 2, top: 2, bottom: 30 },
      tooltip: { trigger: "item", confine: true },
      legend: {
        bottom: 0,
        left: 0,
        itemWidth: 12,
        itemHeight: 10,
        textStyle: { fontSize: 12, color: "#344054" },
        formatter: function (name) {
          var p = parts.find(function (x) { return x.name === name; });
          return p ? (p.incumbent ? "★ " : "") + name + " " + pct(p.share) : name;
        },
        data: parts.map(function (p) { return p.name; }),
      },
      xAxis: { type: "value", max: 100, show: false },
      yAxis: { type: "category", data: [""], show: false },
      series: series,
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }

  // --- the map form --------------------------------------------------------------

  function clearRow(row) {
    row.querySelectorAll("input, select, textarea").forEach(function (input) {
      if (input.type === "checkbox") input.checked = false;
      else if (input.tagName === "SELECT") input.selectedIndex = 0;
      else input.value = "";
    });
  }

  function updateSum(form) {
    var out = form.querySelector("[data-map-sum]");
    if (!out) return;
    var total = 0;
    form.querySelectorAll("[data-map-row]:not([hidden]) input[data-map-field='share']").forEach(function (input) {
      var v = parseFloat(input.value);
      if (!isNaN(v)) total += v;
    });
    total = Math.round(total * 100) / 100;
    var rest = Math.round((100 - total) * 100) / 100;
    var over = total > 100;
    var template = over ? out.dataset.textOver : out.dataset.textSum;
    out.textContent = (template || "").replace("{sum}", total).replace("{rest}", Math.max(rest, 0));
    out.classList.toggle("is-over", over);
  }

  function addRow(form) {
    var template = form.querySelector("template[data-map-template]");
    var rows = form.querySelector("[data-map-rows]");
    var total = form.querySelector("input[name$='-TOTAL_FORMS']");
    if (!template || !rows || !total) return;
    var max = form.querySelector("input[name$='-MAX_NUM_FORMS']");
    var index = parseInt(total.value, 10) || 0;
    if (max && index >= parseInt(max.value, 10)) return;
    var html = template.innerHTML.replace(/__prefix__/g, String(index));
    var holder = document.createElement("div");
    holder.innerHTML = html.trim();
    var row = holder.firstElementChild;
    rows.appendChild(row);
    total.value = String(index + 1);
    var first = row.querySelector("input[data-map-field='supplier']");
    if (first) first.focus();
  }

  document.addEventListener("click", function (event) {
    var add = event.target.closest("[data-map-add]");
    if (add) {
      addRow(add.closest("form"));
      return;
    }
    var remove = event.target.closest("[data-map-remove]");
    if (remove) {
      var row = remove.closest("[data-map-row]");
      var form = remove.closest("form");
      if (row) {
        clearRow(row);
        row.hidden = true;
      }
      if (form) updateSum(form);
    }
  });

  document.addEventListener("input", function (event) {
    if (event.target.matches("input[data-map-field='share']")) updateSum(event.target.closest("form"));
  });

  function init() {
    drawChart();
    document.querySelectorAll("form[data-map-form]").forEach(updateSum);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
