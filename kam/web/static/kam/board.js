/* The pipeline board: drag a card onto the next column (HTML5 drag and drop) or
   press its "Advance →" button; the server runs the gate check and answers with
   JSON and the card's new HTML. On success the card moves to its new column; on a
   refusal the card shows what is missing, and for managers a Force button that
   asks for a reason. Without JavaScript the Advance buttons post as plain forms. */
(function () {
  "use strict";

  const board = document.querySelector("[data-board]");
  if (!board) return;
  const live = document.getElementById("board-live");
  const dialog = document.getElementById("force-dialog");
  const money = new Intl.NumberFormat("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  let dragged = null;
  let forcing = null; // the card the force dialog is about

  function csrfToken() {
    const input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function announce(text) {
    if (live) live.textContent = text || "";
  }

  function columnOf(stage) {
    return Array.from(board.querySelectorAll(".board-column")).find(function (col) {
      return col.dataset.stage === stage;
    });
  }

  function adjustColumn(col, countDelta, amountDelta) {
    if (!col) return;
    const count = col.querySelector("[data-count]");
    if (count) {
      const n = Math.max(0, parseInt(count.dataset.count, 10) + countDelta);
      count.dataset.count = String(n);
      count.textContent = String(n);
    }
    const amount = col.querySelector("[data-column-amount]");
    if (amount) {
      const value = Math.max(0, parseFloat(amount.dataset.columnAmount || "0") + amountDelta);
      amount.dataset.columnAmount = String(value);
      amount.textContent = money.format(value);
    }
  }

  function replaceCard(card, html) {
    const holder = document.createElement("template");
    holder.innerHTML = html.trim();
    const fresh = holder.content.firstElementChild;
    if (!fresh) return card;
    card.replaceWith(fresh);
    return fresh;
  }

  function moveCard(card, fromStage) {
    const target = columnOf(card.dataset.stage);
    if (!target || card.dataset.stage === fromStage) return;
    const amount = parseFloat(card.dataset.amount || "0");
    adjustColumn(columnOf(fromStage), -1, -amount);
    adjustColumn(target, 1, amount);
    target.querySelector(".board-cards").prepend(card);
    card.scrollIntoView({ block: "nearest", inline: "nearest" });
  }

  async function advance(card, toStage, force, reason) {
    const fromStage = card.dataset.stage;
    const body = new FormData();
    body.append("from_stage", fromStage);
    body.append("to_stage", toStage);
    if (force) {
      body.append("force", "1");
      body.append("reason", reason || "");
    }
    card.setAttribute("aria-busy", "true");
    let answer;
    try {
      const response = await fetch(card.dataset.advanceUrl, {
        method: "POST",
        body: body,
        credentials: "same-origin",
        headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" },
      });
      answer = await response.json();
    } catch (error) {
      answer = { ok: false, message: board.dataset.networkError };
    }
    card.removeAttribute("aria-busy");
    if (answer.html && !(force && answer.field === "reason")) card = replaceCard(card, answer.html);
    if (answer.ok) moveCard(card, fromStage);
    announce(answer.message);
    const focusable =
      card.querySelector("[data-force]") || card.querySelector("[data-testid=card-advance]");
    if (focusable && !force) focusable.focus({ preventScroll: true });
    return { answer: answer, card: card };
  }

  // --- drag and drop ---------------------------------------------------------------
  board.addEventListener("dragstart", function (event) {
    const card = event.target.closest(".board-card");
    if (!card) return;
    dragged = card;
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.dataset.id);
    card.classList.add("is-dragging");
    const next = columnOf(card.dataset.nextStage);
    if (next) next.classList.add("is-next");
  });

  board.addEventListener("dragend", function () {
    board.querySelectorAll(".is-dragging, .is-next, .is-over").forEach(function (el) {
      el.classList.remove("is-dragging", "is-next", "is-over");
    });
    dragged = null;
  });

  board.addEventListener("dragover", function (event) {
    const col = event.target.closest(".board-column");
    if (!col || !dragged) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    board.querySelectorAll(".is-over").forEach(function (el) {
      if (el !== col) el.classList.remove("is-over");
    });
    col.classList.add("is-over");
  });

  board.addEventListener("dragleave", function (event) {
    const col = event.target.closest(".board-column");
    if (col && !col.contains(event.relatedTarget)) col.classList.remove("is-over");
  });

  board.addEventListener("drop", function (event) {
    const col = event.target.closest(".board-column");
    if (!col || !dragged) return;
    event.preventDefault();
    const card = dragged;
    board.querySelectorAll(".is-over, .is-next").forEach(function (el) {
      el.classList.remove("is-over", "is-next");
    });
    if (col.dataset.stage === card.dataset.stage) return; // dropped where it was
    advance(card, col.dataset.stage, false);
  });

  // --- the keyboard / button way --------------------------------------------------
  board.addEventListener("submit", function (event) {
    const form = event.target.closest("[data-advance-form]");
    if (!form) return;
    event.preventDefault();
    advance(form.closest(".board-card"), form.elements.to_stage.value, false);
  });

  // --- force (managers) -------------------------------------------------------------
  function showForceError(text) {
    const box = dialog.querySelector("[data-force-error]");
    box.textContent = text || "";
    box.hidden = !text;
  }

  board.addEventListener("click", function (event) {
    const button = event.target.closest("[data-force]");
    if (!button || !dialog) return;
    forcing = button.closest(".board-card");
    dialog.querySelector("[data-force-deal]").textContent = forcing.dataset.name;
    dialog.querySelector("[data-force-to]").textContent = forcing.dataset.nextName;
    const list = dialog.querySelector("[data-force-unmet]");
    list.innerHTML = "";
    forcing.querySelectorAll("[data-testid=card-unmet] strong").forEach(function (item) {
      const li = document.createElement("li");
      li.textContent = item.textContent;
      list.appendChild(li);
    });
    dialog.querySelector("textarea").value = "";
    showForceError("");
    dialog.showModal();
    dialog.querySelector("textarea").focus();
  });

  if (dialog) {
    dialog.querySelector("[data-force-form]").addEventListener("submit", async function (event) {
      event.preventDefault();
      if (!forcing) return;
      const reason = dialog.querySelector("textarea").value;
      const result = await advance(forcing, forcing.dataset.nextStage, true, reason);
      if (result.answer.ok || result.answer.field !== "reason") {
        dialog.close();
        forcing = null;
      } else {
        showForceError(result.answer.message);
      }
    });
  }
})();
