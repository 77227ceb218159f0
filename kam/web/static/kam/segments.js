/* KAM — a segment's score radar (市场细分): one axis per scoring criterion (0–5), drawn
   with ECharts from the JSON block #segment-chart-data (kam/web/views/segments.py).
   No data, no chart box or no ECharts: nothing is drawn (the lists beside it say it
   all) — never an error. */
(function () {
  "use strict";

  function draw() {
    var box = document.querySelector(".segment-radar");
    var block = document.getElementById("segment-chart-data");
    if (!box || !block || typeof echarts === "undefined") return;
    var data;
    try {
      data = JSON.parse(block.textContent);
    } catch (e) {
      return;
    }
    if (!data || !data.indicators || !data.indicators.length) return;
    var chart = echarts.init(box, null, { renderer: "svg" });
    chart.setOption({
      animation: false,
      tooltip: { trigger: "item" },
      radar: {
        indicator: data.indicators,
        radius: "56%",
        center: ["50%", "52%"],
        splitNumber: 5,
        axisName: { color: "#667085", fontSize: 11, width: 72, overflow: "break" },
      },
      series: [
        {
          type: "radar",
          data: [
            {
              name: data.label,
              value: data.values,
              areaStyle: { color: "rgba(47, 128, 237, 0.18)" },
              lineStyle: { color: "#2f80ed" },
              itemStyle: { color: "#2f80ed" },
            },
          ],
        },
      ],
    });
    window.addEventListener("resize", function () {
      chart.resize();
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
