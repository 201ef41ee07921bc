// A token or signing secret the API shows only once, when it is made: put
// in view with a copy button, and the list beside it refreshed. The form
// that makes it says which field of the answer to show (data-reveal) and
// which list to refresh (data-refresh).
"use strict";

(function () {
  async function reveal(event) {
    const form = event.target;
    if (!form.dataset.reveal) return;
    const panel = document.getElementById("shown-once");
    panel.querySelector("input").value = event.detail.body[form.dataset.reveal];
    panel.hidden = false;
    panel.focus();
    form.reset();
    window.Console.notify("Made. Copy what is shown below now: it will not be shown again.");
    if (form.dataset.refresh) await window.Console.refresh(form.dataset.refresh);
  }

  async function copy(event) {
    if (event.target.id !== "copy-once") return;
    const input = document.getElementById("shown-once-value");
    input.select();
    try {
      await navigator.clipboard.writeText(input.value);
    } catch (err) {
      if (!document.execCommand("copy")) {
        window.Console.notify("Could not copy: it is selected, copy it with your keyboard.", "error");
        return;
      }
    }
    window.Console.notify("Copied to the clipboard.");
  }

  document.addEventListener("api:done", reveal);
  document.addEventListener("click", copy);
})();
