/* KAM — small page behaviours, no framework:
   - [data-open-dialog="id"] opens <dialog id>; [data-close-dialog] closes its dialog;
     a dialog with [data-open-on-load] (a form that came back with an error) opens at once.
   - form[data-confirm] asks before submitting (delete buttons).
   - a link to a section of the page opens the folded form in it.
   - select[data-milestone-kind] shows only the price / margin inputs its kind asks for.
   And `window.KAM`, the helpers the chart scripts share (loaded after this file):
   readJson(id) — the JSON of a json_script block, null when absent or broken;
   escapeHtml(text) — text safe to put into tooltip HTML;
   compact(value) — an amount at a glance, as the dashboard's key figures show it:
   1.72亿 / 5,265.1万 on a Chinese page, 172.5M / 52.7k otherwise; compactAxis(value)
   the same for an axis label, without a trailing ".0" (3,000万, not 3,000.0万). */
window.KAM = {
  readJson: function (id) {
    var block = document.getElementById(id);
    if (!block) return null;
    try {
      return JSON.parse(block.textContent);
    } catch (e) {
      return null;
    }
  },
  escapeHtml: function (text) {
    return String(text == null ? "" : text).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  },
  compact: function (value) {
    var n = Number(value) || 0;
    var abs = Math.abs(n);
    var group = function (x, digits) {
      return x.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
    };
    if ((document.documentElement.lang || "").indexOf("zh") === 0) {
      if (abs >= 1e8) return group(n / 1e8, 2) + "亿";
      if (abs >= 1e4) return group(n / 1e4, 1) + "万";
      return group(n, 0);
    }
    if (abs >= 1e9) return group(n / 1e9, 2) + "B";
    if (abs >= 1e6) return group(n / 1e6, 1) + "M";
    if (abs >= 1e3) return group(n / 1e3, 1) + "k";
    return group(n, 0);
  },
  compactAxis: function (value) {
    return window.KAM.compact(value).replace(/\.0(?=\D*$)/, "");
  },
};
(function () {
  "use strict";

  function openDialog(dialog) {
    if (!dialog || dialog.open) return;
    if (typeof dialog.showModal === "function") dialog.showModal();
    else dialog.setAttribute("open", "");
    const first = dialog.querySelector("textarea, input:not([type=hidden]), select");
    if (first) first.focus();
  }

  document.addEventListener("click", function (event) {
    const opener = event.target.closest("[data-open-dialog]");
    if (opener) {
      openDialog(document.getElementById(opener.dataset.openDialog));
      return;
    }
    const closer = event.target.closest("[data-close-dialog]");
    if (closer) {
      const dialog = closer.closest("dialog");
      if (dialog) dialog.close();
      return;
    }
    // a link to a section (the checklist's "Evaluate the deal ↓") opens its folded form
    const link = event.target.closest('a[href^="#"]');
    if (link && link.getAttribute("href").length > 1) {
      const section = document.getElementById(link.getAttribute("href").slice(1));
      const folded = section && section.querySelector("details.inline-form:not([open])");
      if (folded) folded.open = true;
    }
  });

  document.addEventListener("submit", function (event) {
    const form = event.target.closest("form[data-confirm]");
    if (form && !window.confirm(form.dataset.confirm)) event.preventDefault();
  });

  function syncMilestoneFields(select) {
    const form = select.form;
    if (!form) return;
    const option = select.options[select.selectedIndex];
    const asked = ((option && option.dataset.fields) || "").split(" ").filter(Boolean);
    form.querySelectorAll("[data-milestone-field]").forEach(function (input) {
      const wanted = asked.indexOf(input.dataset.milestoneField) !== -1;
      const box = input.closest(".field") || input;
      box.hidden = !wanted;
      input.disabled = !wanted; // not sent for kinds that do not ask for it
    });
  }

  document.addEventListener("change", function (event) {
    if (event.target.matches("select[data-milestone-kind]")) syncMilestoneFields(event.target);
  });

  function init() {
    document.querySelectorAll("select[data-milestone-kind]").forEach(syncMilestoneFields);
    document.querySelectorAll("dialog[data-open-on-load]").forEach(openDialog);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
