/* The import pages: a form marked data-busy (checking or importing a file can take a
   while) disables its buttons once sent and shows its "busy" note, so the user sees it
   working and does not click twice. The buttons are disabled after the submit event, so
   the clicked one is still sent. */
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    const form = event.target.closest("form[data-busy]");
    if (!form) return;
    setTimeout(function () {
      document.querySelectorAll("form[data-busy] button[type=submit]").forEach(function (b) {
        b.disabled = true;
      });
      const note = form.querySelector(".busy-note");
      if (note) note.hidden = false;
    }, 0);
  });
})();
