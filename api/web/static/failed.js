// The Failed page: a record sent again or dismissed leaves the list at once
// (console.js sends the form and says what was done); sending all again
// empties it.
"use strict";

(function () {
  const C = window.Console;
  const list = document.getElementById("failed-list");
  if (!list) return;
  const counter = document.getElementById("failed-count");
  let left = parseInt(counter.textContent, 10);

  function showLeft() {
    counter.textContent = left + " failed";
    if (list.querySelector("tbody tr")) return;
    const note = document.createElement("p");
    note.id = "no-failed";
    if (left > 0) {
      const more = document.createElement("a");
      more.href = window.location.pathname;
      more.textContent = "Show the " + left + " left";
      note.append("None left on this page. ", more);
    } else {
      note.textContent = "No failed deliveries.";
      document.getElementById("retry-all-form").hidden = true;
    }
    list.replaceWith(note);
    const pager = document.querySelector(".pager");
    if (pager) pager.remove();
  }

  document.addEventListener("api:done", (event) => {
    const form = event.target;
    if (form.dataset.row) {
      document.getElementById(form.dataset.row).remove();
      left -= 1;
    } else if (form.id === "retry-all-form") {
      const retried = event.detail.body.retried.length;
      C.notify("Sent " + retried + " failed " + (retried === 1 ? "delivery" : "deliveries") +
               " again. Any that fail again come back here.");
      list.querySelectorAll("tbody tr").forEach((row) => row.remove());
      left = Math.max(0, left - retried);
    }
    showLeft();
  });
})();
