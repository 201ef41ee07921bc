// The console's one shared script: forms sent to /api/v1 as JSON with the
// session's CSRF token, errors shown by their fields, and times in the
// browser's time zone. Pages with more to do add a script of their own that
// uses window.Console.
"use strict";

(function () {
  const csrf = () => document.querySelector('meta[name="csrf-token"]').content;

  // A call to the API: {ok, status, body} (body parsed when it is JSON);
  // extraHeaders adds headers of its own (a send's Idempotency-Key).
  async function api(method, url, body, contentType, extraHeaders) {
    const headers = {"X-CSRF-Token": csrf(), "Accept": "application/json", ...extraHeaders};
    let payload;
    if (body !== undefined) {
      headers["Content-Type"] = contentType || "application/json";
      payload = contentType ? body : JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(url, {method, headers, body: payload, credentials: "same-origin"});
    } catch (err) {
      return {ok: false, status: 0, body: {message: "The service could not be reached: " + err.message}};
    }
    const text = await response.text();
    let parsed = text;
    try { parsed = text ? JSON.parse(text) : null; } catch (err) { /* not JSON: kept as text */ }
    if (response.status === 401) {
      window.location.assign("/app/login?next=" + encodeURIComponent(window.location.pathname));
    }
    return {ok: response.ok, status: response.status, body: parsed, headers: response.headers};
  }

  // A form's fields as a JSON body. Names with dots nest ("fields.city"); a
  // field's data-type says how its text is read: "list" (one per line or
  // comma), "lines" (one per line), "number", "json", "bool" (a checkbox).
  // Empty fields are left out; checkboxes of one name make a list.
  function formBody(form) {
    const body = {};
    for (const input of form.elements) {
      if (!input.name || input.name === "csrf_token" || input.disabled || input.type === "submit") continue;
      let value;
      const type = input.dataset.type || "";
      if (input.type === "checkbox") {
        if (type === "bool") value = input.checked;
        else if (!input.checked) continue;
        else { appendTo(body, input.name, input.value); continue; }
      } else if (input.type === "radio") {
        if (!input.checked) continue;
        value = input.value;
      } else if (input.tagName === "SELECT" && input.multiple) {
        value = Array.from(input.selectedOptions, (o) => o.value);
        if (!value.length) continue;
      } else {
        const text = input.value.trim();
        if (text === "") continue;
        if (type === "list") value = text.split(/[\n,]/).map((s) => s.trim()).filter(Boolean);
        else if (type === "lines") value = text.split("\n").map((s) => s.trim()).filter(Boolean);
        else if (type === "number") value = Number(text);
        else if (type === "json") value = JSON.parse(text);
        else if (type === "datetime") value = new Date(text).toISOString();
        else value = input.value;
      }
      setPath(body, input.name, value);
    }
    return body;
  }

  function setPath(body, name, value) {
    const parts = name.split(".");
    let at = body;
    for (const part of parts.slice(0, -1)) at = at[part] = at[part] || {};
    at[parts[parts.length - 1]] = value;
  }

  function appendTo(body, name, value) {
    const parts = name.split(".");
    let at = body;
    for (const part of parts.slice(0, -1)) at = at[part] = at[part] || {};
    const last = parts[parts.length - 1];
    (at[last] = at[last] || []).push(value);
  }

  // Flatten {"json": {"ids": {"telegram": ["..."]}}} to [["ids.telegram", "..."]].
  function fieldErrors(errors, prefix, out) {
    out = out || [];
    if (Array.isArray(errors)) {
      const texts = errors.filter((e) => typeof e !== "object");
      if (texts.length) out.push([prefix, texts.join(" ")]);
      errors.filter((e) => typeof e === "object").forEach((e) => fieldErrors(e, prefix, out));
    } else if (errors && typeof errors === "object") {
      for (const [key, value] of Object.entries(errors)) {
        fieldErrors(value, prefix ? prefix + "." + key : key, out);
      }
    } else if (errors !== undefined && errors !== null) {
      out.push([prefix, String(errors)]);
    }
    return out;
  }

  function clearErrors(form) {
    form.querySelectorAll(".field-error").forEach((el) => el.remove());
    form.querySelectorAll("[aria-invalid]").forEach((el) => el.removeAttribute("aria-invalid"));
    const summary = form.querySelector(".form-error");
    if (summary) { summary.textContent = ""; summary.hidden = true; }
  }

  // Show an error answer on a form: its message on top, each field's beside it.
  function showErrors(form, answer) {
    clearErrors(form);
    const body = answer.body && typeof answer.body === "object" ? answer.body : {};
    const lines = [body.message || ("The request failed (" + answer.status + ").")];
    const errors = body.errors || {};
    for (const [path, text] of fieldErrors(errors.json || errors.form || errors.query || {}, "")) {
      const input = path && form.querySelector('[name="' + CSS.escape(path) + '"]');
      if (input) {
        input.setAttribute("aria-invalid", "true");
        const note = document.createElement("span");
        note.className = "field-error";
        note.id = "error-" + path.replace(/\W/g, "-");
        note.textContent = text;
        input.insertAdjacentElement("afterend", note);
        input.setAttribute("aria-describedby", note.id);
      } else {
        lines.push((path ? path + ": " : "") + text);
      }
    }
    let summary = form.querySelector(".form-error");
    if (!summary) {
      summary = document.createElement("div");
      summary.className = "form-error";
      summary.setAttribute("role", "alert");
      form.prepend(summary);
    }
    summary.hidden = false;
    summary.textContent = lines.join("\n");
  }

  // Say something in the page's notice area (read out by screen readers).
  function notify(text, kind) {
    const notice = document.getElementById("notice");
    notice.textContent = text;
    notice.className = kind || "ok";
  }

  // <form data-api="/api/v1/..." data-method="POST" data-next="reload|URL with {id}">
  async function submitApiForm(event) {
    const form = event.target.closest("form[data-api]");
    if (!form) return;
    event.preventDefault();
    if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) return;
    let body;
    try {
      body = form.dataset.empty === "true" ? undefined : formBody(form);
    } catch (err) {
      showErrors(form, {status: 0, body: {message: "A field holds text that is not valid JSON: " + err.message}});
      return;
    }
    const button = form.querySelector("[type=submit]");
    if (button) button.disabled = true;
    const answer = await api(form.dataset.method || "POST", form.dataset.api, body);
    if (button) button.disabled = false;
    if (!answer.ok) { showErrors(form, answer); return; }
    clearErrors(form);
    form.dispatchEvent(new CustomEvent("api:done", {detail: answer, bubbles: true}));
    const next = form.dataset.next;
    if (next === "reload") window.location.reload();
    else if (next) {
      const id = answer.body && (answer.body.id || answer.body.name) || "";
      window.location.assign(next.replace("{id}", encodeURIComponent(id)));
    } else if (form.dataset.done) notify(form.dataset.done);
  }

  // <time datetime="...Z">: shown in the browser's zone, UTC on hover.
  function localTimes(root) {
    (root || document).querySelectorAll("time[datetime]").forEach((el) => {
      const when = new Date(el.getAttribute("datetime"));
      if (isNaN(when)) return;
      el.title = when.toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
      el.textContent = when.toLocaleString(undefined, {dateStyle: "medium", timeStyle: "medium"});
    });
  }

  // Fetch this page again and put its fresh copy of the element `selector`
  // names in place of the one shown; whether it could.
  async function refresh(selector) {
    let response;
    try {
      response = await fetch(window.location.href, {credentials: "same-origin", headers: {"Accept": "text/html"}});
    } catch (err) {
      return false;
    }
    const shown = document.querySelector(selector);
    const fresh = new DOMParser().parseFromString(await response.text(), "text/html").querySelector(selector);
    if (!response.ok || !shown || !fresh) return false;
    shown.replaceWith(fresh);
    localTimes(fresh);
    return true;
  }

  document.addEventListener("submit", submitApiForm);
  document.addEventListener("DOMContentLoaded", () => localTimes());
  window.Console = {api, formBody, showErrors, clearErrors, notify, localTimes, refresh};
})();
