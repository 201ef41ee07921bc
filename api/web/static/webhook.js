// A webhook's page: after a test event is queued, wait for the worker's
// attempt at posting it and show it in the attempts list.
"use strict";

(function () {
  const POLL_MS = 1000;
  const POLLS = 30;

  async function attemptOf(url, eventId) {
    for (let n = 0; n < POLLS; n++) {
      const answer = await window.Console.api("GET", url);
      if (!answer.ok) return null;
      const found = answer.body.find((a) => a.event_id === eventId);
      if (found) return found;
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
    return null;
  }

  async function followTest(event) {
    const form = event.target;
    if (form.id !== "test-webhook") return;
    const eventId = event.detail.body.event_id;
    window.Console.notify("Test event " + eventId + " queued; waiting for its post…");
    const attempt = await attemptOf(form.dataset.attempts, eventId);
    if (!attempt) {
      window.Console.notify("Test event " + eventId + " is not posted yet: reload the page to see it later.", "error");
      return;
    }
    await window.Console.refresh("#attempts");
    const status = attempt.status === null ? "no answer" : "status " + attempt.status;
    window.Console.notify("Test event posted: " + status + ", " + attempt.outcome.replace("_", " ") + ".",
                          attempt.outcome === "delivered" ? "ok" : "error");
  }

  document.addEventListener("api:done", followTest);
})();
