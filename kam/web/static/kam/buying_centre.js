/* KAM — the buying-centre map on the opportunity page (SPEC §4, §9).
   Draws the account's org chart with ECharts from the JSON block #buying-centre-data
   (built by kam/web/buying_centre.py): one card per person, filled with the stance
   colour of this deal, bigger with a dark ring for a key person now, a gold ring and ★
   for the coach, faded and dashed for someone who left.
   The layout is our own compact org chart (each subtree as wide as its cards need; three
   or more people without reports hang in a column under their boss), drawn as an
   ECharts graph with fixed positions and elbow lines — ECharts' tree layout keeps
   cousins two slots apart and made a dozen people wider than the page.
   - clicking a person of the buying centre opens their edit dialog (the table row's
     "Edit" button, handled by kam.js); clicking anyone else opens the add form with
     them chosen;
   - in an edit dialog, the DISC tip follows the chosen type;
   - no contacts: the empty-state text; no readable data or no ECharts: no drawing (the
     lists and the table say it all) — never an error. */
(function () {
  "use strict";

  var LEVEL_GAP = 104; // px between the centres of two rows of the org chart
  var H_PAD = 10; // px between two cards side by side
  var STACK_MIN = 3; // this many reports without reports of their own hang in a column
  var STACK_GAP = 10; // px between two cards of such a column
  var STACK_INDENT = 18; // px the column sits to the right of its boss
  var MARGIN = 16; // px around the drawing
  var MAX_SPREAD = 1.4; // a small chart widens its gaps at most this much


  var escapeHtml = KAM.escapeHtml;

  // text inside ECharts rich-text markup: no braces, no line breaks
  function rich(text) {
    return String(text == null ? "" : text)
      .replace(/\{/g, "｛")
      .replace(/\}/g, "｝")
      .replace(/[\r\n]+/g, " ");
  }

  function showEmpty(chartEl, data) {
    if (!chartEl) return;
    var p = document.createElement("p");
    p.className = "empty";
    p.setAttribute("data-testid", "map-empty");
    p.textContent = (data && data.text && data.text.empty) || "";
    var box = chartEl.closest(".map-scroll") || chartEl;
    box.replaceWith(p);
  }

  function hideChart(chartEl) {
    var box = chartEl.closest(".map-scroll") || chartEl;
    box.hidden = true;
  }

  function labelFor(p, text) {
    if (p.virtual) return "{group|" + rich(p.name) + "}";
    var first = "{name|" + rich(p.name) + "}";
    if (p.coach) first += " {star|★}";
    if (p.in_centre && p.stance === "unknown") first += " {q|?}";
    var second = "{title|" + rich(p.title || "—") + "}";
    if (p.left) second = "{left|" + rich(text.left) + "} " + second;
    if (!p.in_centre) return first + "\n" + second;
    // "DISC C", not a bare letter: C and S are also stance letters in the legend
    var third = [p.role_names, p.disc ? "DISC " + p.disc : ""].filter(Boolean).join(" · ");
    return first + "\n" + second + "\n{roles|" + rich(third || "—") + "}";
  }

  function richStyles(p) {
    var ink = p.text_color;
    var small = !p.in_centre && !p.virtual;
    return {
      group: { color: ink, fontSize: 13, fontWeight: 600, lineHeight: 18 },
      name: { color: ink, fontSize: small ? 12 : 13, fontWeight: 600, lineHeight: small ? 16 : 18 },
      star: { color: p.coach ? "#f0a300" : ink, fontSize: 14, lineHeight: 18,
              textBorderColor: "#5c3d00", textBorderWidth: p.color === "#ffffff" ? 0 : 1 },
      q: { color: "#ffffff", backgroundColor: "#667085", borderRadius: 8, padding: [0, 4],
           fontSize: 11, fontWeight: 700, lineHeight: 16 },
      title: { color: ink, fontSize: 11, lineHeight: 15, opacity: 0.92 },
      roles: { color: ink, fontSize: 11, fontWeight: 500, lineHeight: 15 },
      left: { color: "#ffffff", backgroundColor: "#667085", borderRadius: 3, padding: [0, 3],
              fontSize: 10, lineHeight: 14 },
    };
  }

  // a colour mixed with white: how someone who left is faded without transparency
  function fade(hex, amount) {
    var m = /^#([0-9a-f]{6})$/i.exec(hex || "");
    if (!m) return hex;
    var n = parseInt(m[1], 16);
    var mix = function (c) {
      return Math.round(c + (255 - c) * amount);
    };
    var r = mix((n >> 16) & 255), g = mix((n >> 8) & 255), b = mix(n & 255);
    return "#" + ((1 << 24) + (r << 16) + (g << 8) + b).toString(16).slice(1);
  }

  function kidsOf(node) {
    return node.children || [];
  }

  function stacked(node) {
    var kids = kidsOf(node);
    return (
      kids.length >= STACK_MIN &&
      kids.every(function (c) {
        return !kidsOf(c).length;
      })
    );
  }

  // the account's and the external branch's cards are as wide as their names
  function fitGroups(node) {
    if (node.virtual) {
      var ctx = document.createElement("canvas").getContext("2d");
      ctx.font = "600 13px " + (getComputedStyle(document.body).fontFamily || "sans-serif");
      var need = Math.ceil(ctx.measureText(node.name).width) + 30;
      node.size = [Math.max(node.size[0], Math.min(need, 360)), node.size[1]];
    }
    kidsOf(node).forEach(fitGroups);
  }

  // subtree widths, bottom up
  function measure(node) {
    var own = node.size[0] + H_PAD;
    var kids = kidsOf(node);
    if (!kids.length) return (node._w = own);
    if (stacked(node)) {
      var widest = Math.max.apply(null, kids.map(function (c) {
        return c.size[0];
      }));
      kids.forEach(function (c) {
        c._w = c.size[0] + H_PAD;
      });
      return (node._w = Math.max(own, widest + 2 * STACK_INDENT + H_PAD));
    }
    var sum = kids.reduce(function (acc, c) {
      return acc + measure(c);
    }, 0);
    return (node._w = Math.max(own, sum));
  }

  // positions, top down; `spread` widens every gap when there is room
  function place(node, left, y, spread) {
    node._x = left + (node._w * spread) / 2;
    node._y = y;
    var kids = kidsOf(node);
    if (!kids.length) return y + node.size[1] / 2;
    var bottom = y + node.size[1] / 2;
    if (stacked(node)) {
      // one under the other, left edges aligned just right of the spine
      var widest = Math.max.apply(null, kids.map(function (c) {
        return c.size[0];
      }));
      var edge = node._x + STACK_INDENT - widest / 2;
      var top = y + node.size[1] / 2 + 22;
      kids.forEach(function (c) {
        c._x = edge + c.size[0] / 2;
        c._y = top + c.size[1] / 2;
        top += c.size[1] + STACK_GAP;
        bottom = Math.max(bottom, c._y + c.size[1] / 2);
      });
      return bottom;
    }
    var sum = kids.reduce(function (acc, c) {
      return acc + c._w * spread;
    }, 0);
    var start = node._x - sum / 2;
    kids.forEach(function (c) {
      bottom = Math.max(bottom, place(c, start, y + LEVEL_GAP, spread));
      start += c._w * spread;
    });
    return bottom;
  }

  function cardItem(p, text) {
    var person = {};
    Object.keys(p).forEach(function (k) {
      if (k !== "children" && k.charAt(0) !== "_") person[k] = p[k];
    });
    var ink = p.left ? fade(p.text_color, 0.35) : p.text_color;
    var styles = richStyles(Object.assign({}, p, { text_color: ink }));
    return {
      name: p.id,
      x: p._x,
      y: p._y,
      person: person,
      symbol: "roundRect",
      symbolSize: p.size,
      itemStyle: {
        color: p.left ? fade(p.color, 0.55) : p.color,
        borderColor: p.left ? "#98a2b3" : p.border_color,
        borderWidth: p.left ? 1.5 : p.border_width,
        borderType: p.left || (p.virtual && p.external) ? "dashed" : "solid",
        shadowBlur: p.key ? 8 : 0,
        shadowColor: "rgba(16, 24, 40, .28)",
      },
      label: {
        show: true,
        position: "inside",
        formatter: labelFor(p, text),
        rich: styles,
        width: p.size[0] - 14,
        overflow: "truncate",
      },
      tooltip: { show: true },
    };
  }

  function joint(name, x, y) {
    return {
      name: name,
      x: x,
      y: y,
      symbol: "circle",
      symbolSize: 0,
      itemStyle: { opacity: 0 },
      label: { show: false },
      tooltip: { show: false },
      cursor: "default",
    };
  }

  // the graph's nodes (cards and the invisible corners of the elbow lines) and links
  function graph(tree, text) {
    var nodes = [];
    var links = [];
    var n = 0;
    function link(a, b, dashed) {
      links.push({
        source: a,
        target: b,
        lineStyle: dashed ? { type: "dashed" } : {},
        tooltip: { show: false },
      });
    }
    (function walk(node) {
      nodes.push(cardItem(node, text));
      var kids = kidsOf(node);
      if (!kids.length) return;
      var under = node._y + node.size[1] / 2;
      if (stacked(node)) {
        var spineX = kids[0]._x - kids[0].size[0] / 2 - 10;
        var knee = "j" + n++;
        nodes.push(joint(knee, node._x, under + 10));
        var top = "j" + n++;
        nodes.push(joint(top, spineX, under + 10));
        link(node.id, knee);
        link(knee, top);
        var prev = top;
        kids.forEach(function (c) {
          var tick = "j" + n++;
          nodes.push(joint(tick, spineX, c._y));
          link(prev, tick);
          link(tick, c.id, c.left);
          prev = tick;
          nodes.push(cardItem(c, text));
        });
        return;
      }
      var busY = (under + (kids[0]._y - kids[0].size[1] / 2)) / 2;
      var bus = "j" + n++;
      nodes.push(joint(bus, node._x, busY));
      link(node.id, bus);
      kids.forEach(function (c) {
        var drop = "j" + n++;
        nodes.push(joint(drop, c._x, busY));
        link(bus, drop);
        link(drop, c.id, c.left);
        walk(c);
      });
    })(tree);
    return { nodes: nodes, links: links };
  }

  function tooltip(params, data) {
    var p = params.data && params.data.person;
    var t = data.text;
    if (!p) return "";
    if (p.virtual) return "<strong>" + escapeHtml(p.name) + "</strong>";
    var rows = [];
    rows.push(
      '<div class="map-tip-head"><strong>' + escapeHtml(p.name) + "</strong>" +
        (p.coach ? ' <span class="map-tip-star">★ ' + escapeHtml(t.coach) + "</span>" : "") +
        "</div>"
    );
    var where = [p.title, p.department].filter(Boolean).join(" · ");
    if (where) rows.push('<div class="map-tip-muted">' + escapeHtml(where) + "</div>");
    if (p.left) rows.push('<div class="map-tip-left">' + escapeHtml(t.left) + "</div>");
    if (p.external) rows.push('<div class="map-tip-muted">' + escapeHtml(t.external) + "</div>");
    function line(label, value) {
      if (value === "" || value == null) return;
      rows.push(
        '<div class="map-tip-row"><span>' + escapeHtml(label) + "</span> " + escapeHtml(value) +
          "</div>"
      );
    }
    if (p.in_centre) {
      rows.push(
        '<div class="map-tip-row"><span>' + escapeHtml(t.stance) + '</span> <i class="map-tip-swatch" style="background:' +
          escapeHtml(p.color) + '"></i>' + escapeHtml(p.stance_name) + "</div>"
      );
      line(t.roles, p.role_names || "—");
      if (p.key) line(t.key, "✔");
      line(t.influence, p.influence ? p.influence + " / 5" : "—");
      line(t.relationship, p.relationship_name || "—");
    } else {
      rows.push('<div class="map-tip-muted">' + escapeHtml(t.not_in_centre) + "</div>");
    }
    if (p.disc) {
      line(t.disc, p.disc_name || p.disc);
      if (p.disc_tip) rows.push('<div class="map-tip-disc">' + escapeHtml(p.disc_tip) + "</div>");
    }
    var hint = p.in_centre ? t.click_edit : p.left ? "" : t.click_add;
    if (hint) rows.push('<div class="map-tip-hint">' + escapeHtml(hint) + "</div>");
    return '<div class="map-tip">' + rows.join("") + "</div>";
  }

  function openEdit(stakeholderId) {
    var opener = document.querySelector(
      '[data-open-dialog="stakeholder-edit-' + stakeholderId + '"]'
    );
    if (opener) opener.click(); // kam.js opens the dialog
  }

  function openAdd(contactId) {
    var box = document.getElementById("stakeholder-add");
    if (!box) return;
    var select = box.querySelector('select[name="contact"]');
    if (!select) return;
    var option = select.querySelector('option[value="' + contactId + '"]');
    if (!option) return; // left the account, or already in: nothing to add
    box.open = true;
    select.value = String(contactId);
    select.dispatchEvent(new Event("change", { bubbles: true }));
    box.scrollIntoView({ behavior: "smooth", block: "center" });
    select.focus({ preventScroll: true });
  }

  function draw(chartEl, data) {
    var tree = data.tree;
    var box = chartEl.closest(".map-scroll") || chartEl.parentElement;
    var chart = window.echarts.init(chartEl, null, { renderer: "canvas" });
    fitGroups(tree);

    function render() {
      var room = (box.clientWidth || 600) - 2 * MARGIN;
      var need = measure(tree);
      var spread = need < room ? Math.min(MAX_SPREAD, room / need) : 1;
      var bottom = place(tree, 0, tree.size[1] / 2, spread);
      var width = Math.max(room, need * spread);
      var shift = (width - need * spread) / 2 + MARGIN; // centre what does not fill the box
      var height = Math.ceil(bottom + 2 * MARGIN);
      width = Math.ceil(width + 2 * MARGIN);
      (function move(node) {
        node._x += shift;
        node._y += MARGIN;
        kidsOf(node).forEach(move);
      })(tree);
      var drawing = graph(tree, data.text);
      // two invisible corners pin the drawing to the pixels of the box (no scaling)
      drawing.nodes.push(joint("corner-a", 0, 0), joint("corner-b", width, height));
      chartEl.style.width = width + "px";
      chartEl.style.height = height + "px";
      chart.resize({ width: width, height: height });
      chart.setOption(
        {
          animation: false,
          tooltip: {
            trigger: "item",
            confine: true,
            backgroundColor: "#ffffff",
            borderColor: "#d0d5dd",
            textStyle: { color: "#1f2933", fontSize: 12 },
            extraCssText:
              "max-width: 340px; white-space: normal; box-shadow: 0 6px 18px rgba(16,24,40,.15);",
            formatter: function (params) {
              return params.dataType === "node" ? tooltip(params, data) : "";
            },
          },
          series: [
            {
              type: "graph",
              layout: "none",
              left: 0,
              top: 0,
              width: width,
              height: height,
              roam: false,
              draggable: false,
              cursor: "pointer",
              edgeSymbol: ["none", "none"],
              lineStyle: { color: "#aab4c3", width: 1.5, opacity: 1, curveness: 0 },
              emphasis: { disabled: true },
              data: drawing.nodes,
              links: drawing.links,
              z: 2,
            },
          ],
        },
        true
      );
    }

    render();
    chart.on("click", function (params) {
      var p = params.dataType === "node" && params.data && params.data.person;
      if (!p || p.virtual) return;
      if (p.stakeholder_id) openEdit(p.stakeholder_id);
      else openAdd(p.contact_id);
    });
    var pending = null;
    window.addEventListener("resize", function () {
      window.clearTimeout(pending);
      pending = window.setTimeout(render, 150);
    });
    chartEl.setAttribute("data-drawn", "true");
  }

  function syncDiscTip(select, data) {
    var dialog = select.closest(".stakeholder-dialog");
    if (!dialog || !data) return;
    var tip = dialog.querySelector("[data-disc-tip]");
    if (!tip) return;
    var letter = select.value || dialog.dataset.contactDisc || "";
    var text = (data.disc_tips || {})[letter];
    tip.hidden = !text;
    if (!text) return;
    tip.querySelector("[data-disc-tip-name]").textContent = (data.disc_names || {})[letter] || letter;
    tip.querySelector("[data-disc-tip-text]").textContent = text;
  }

  function init() {
    var data = KAM.readJson("buying-centre-data");
    var chartEl = document.getElementById("buying-centre-chart");
    document.addEventListener("change", function (event) {
      if (event.target.matches(".stakeholder-dialog select[name='disc']")) {
        syncDiscTip(event.target, data);
      }
    });
    if (!chartEl) return;
    if (!data) {
      hideChart(chartEl); // no readable data: the table below still lists the people
      return;
    }
    if (!data.tree) {
      showEmpty(chartEl, data);
      return;
    }
    if (typeof window.echarts === "undefined") {
      hideChart(chartEl); // the lists and the table below still say it all
      return;
    }
    try {
      draw(chartEl, data);
    } catch (e) {
      hideChart(chartEl);
      if (window.console) window.console.error(e);
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
