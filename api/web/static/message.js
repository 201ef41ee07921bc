// One message, live: GET /api/v1/messages/<id> every second (every two for
// a big one) until every delivery is final, its counts, progress and rows
// updated in place; cancel through the API's cancel, and the failed
// deliveries sent again one by one through the failed store's retry.
"use strict";

(function () {
  const C = window.Console;
  const root = document.getElementById("message");
  if (!root) return;
  const $ = (id) => document.getElementById(id);
  const url = "/api/v1/messages/" + encodeURIComponent(root.dataset.id);
  const STATUSES = root.dataset.statuses.split(" ");
  const FINAL = new Set(root.dataset.final.split(" "));
  const CANCELLABLE = new Set(root.dataset.cancellable.split(" "));
  const EVERY_MS = 1000;
  const BIG_EVERY_MS = 2000;
  const BIG = 1000;
  let timer = null;
  let warned = false;

  const words = (status) => status.replace(/_/g, " ");

  function statusSpan(status, extra) {
    const span = document.createElement("span");
    span.className = (extra ? extra + " " : "") + "status-" + status;
    span.textContent = words(status);
    return span;
  }

  function showCounts(counts) {
    const shown = STATUSES.filter((s) => counts[s]);
    const parts = [];
    shown.forEach((s, i) => {
      const span = statusSpan(s);
      span.textContent = counts[s] + " " + words(s);
      parts.push(span);
      if (i < shown.length - 1) parts.push(", ");
    });
    $("counts").replaceChildren(...(parts.length ? parts : ["none"]));
  }

  function setText(el, text) {
    if (el.textContent !== text) el.textContent = text;
  }

  function showRow(delivery) {
    const row = document.getElementById("delivery-" + delivery.id);
    if (!row) return;
    const status = row.querySelector(".delivery-status");
    if (status.textContent !== words(delivery.status)) status.replaceChildren(statusSpan(delivery.status, "status"));
    setText(row.querySelector(".delivery-attempts"), String(delivery.attempts));
    setText(row.querySelector(".delivery-error"), delivery.last_error);
    const due = row.querySelector(".delivery-due time");
    if (due.getAttribute("datetime") !== delivery.due_at) {
      due.setAttribute("datetime", delivery.due_at);
      C.localTimes(row);
    }
  }

  // Show the message as the API answered it; whether every delivery is final.
  function show(message) {
    const deliveries = message.deliveries;
    const counts = {};
    deliveries.forEach((d) => { counts[d.status] = (counts[d.status] || 0) + 1; });
    const summary = $("message-status");
    summary.className = "status status-" + message.status;
    setText(summary, words(message.status));
    showCounts(counts);
    const finished = deliveries.filter((d) => FINAL.has(d.status)).length;
    const progress = $("progress");
    progress.max = Math.max(deliveries.length, 1);
    progress.value = finished;
    setText(progress, finished + " of " + deliveries.length);
    setText($("progress-text"), finished + " of " + deliveries.length + " finished");
    $("progress-box").hidden = finished === deliveries.length;
    deliveries.forEach(showRow);
    $("cancel-form").hidden = !deliveries.some((d) => CANCELLABLE.has(d.status));
    $("retry-failed").hidden = !counts.failed;
    return finished === deliveries.length;
  }

  function follow(ms) {
    clearTimeout(timer);
    timer = setTimeout(poll, ms);
  }

  async function poll() {
    timer = null;
    const answer = await C.api("GET", url);
    if (answer.status === 404) { C.notify("This message is no longer there.", "error"); return; }
    if (!answer.ok) {
      warned = true;
      C.notify("Could not refresh the message (" + ((answer.body && answer.body.message) || answer.status) +
               "); trying again.", "error");
      const after = Number(answer.headers && answer.headers.get("Retry-After"));
      follow(after > 0 ? after * 1000 : BIG_EVERY_MS);
      return;
    }
    if (warned) { warned = false; C.notify(""); }
    if (!show(answer.body)) follow(answer.body.deliveries.length > BIG ? BIG_EVERY_MS : EVERY_MS);
  }

  // POST a failed delivery's retry, waiting out a rate limit's Retry-After: the answer.
  async function retryOne(deliveryId) {
    for (;;) {
      const answer = await C.api("POST", "/api/v1/failed/" + encodeURIComponent(deliveryId) + "/retry");
      if (answer.status !== 429) return answer;
      const after = Number(answer.headers.get("Retry-After")) || 1;
      await new Promise((resolve) => setTimeout(resolve, after * 1000));
    }
  }

  async function retryFailed() {
    const button = $("retry-failed");
    button.disabled = true;
    try {
      const current = await C.api("GET", url);
      if (!current.ok) { C.notify((current.body && current.body.message) || "Could not read the message.", "error"); return; }
      const failed = current.body.deliveries.filter((d) => d.status === "failed").map((d) => d.id);
      let sent = 0;
      let missing = 0;
      for (const id of failed) {
        const answer = await retryOne(id);
        if (answer.ok) sent += 1;
        else if (answer.status === 404) missing += 1;
        else {
          C.notify("Sending again stopped after " + sent + ": " + ((answer.body && answer.body.message) || answer.status),
                   "error");
          follow(0);
          return;
        }
      }
      C.notify("Sent " + sent + " failed " + (sent === 1 ? "delivery" : "deliveries") + " again." +
               (missing ? " " + missing + " were not in the failed list (dismissed, or an earlier step of a " +
                          "fallback chain)." : ""));
      follow(0);
    } finally {
      button.disabled = false;
    }
  }

  $("cancel-form").addEventListener("api:done", (event) => {
    const cancelled = event.detail.body.cancelled.length;
    C.notify("Cancelled " + cancelled + " " + (cancelled === 1 ? "delivery" : "deliveries") + ".");
    if (!show(event.detail.body.message)) follow(EVERY_MS);
  });
  $("retry-failed").addEventListener("click", retryFailed);
  if (!$("progress-box").hidden) follow(EVERY_MS);
})();
