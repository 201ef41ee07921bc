// The Contacts pages: a contact's form (fields as key=value lines), a file
// imported with each bad row listed as the API names it, invite links with
// a copy button, and a notice that outlasts the reload after a change.
"use strict";

(function () {
  const C = window.Console;
  const NOTICE = "contacts-notice";

  // A notice to show on the page the browser goes to next.
  function noticeLater(text) {
    if (text) window.sessionStorage.setItem(NOTICE, text);
  }

  function noticeNow() {
    const text = window.sessionStorage.getItem(NOTICE);
    if (text) {
      window.sessionStorage.removeItem(NOTICE);
      C.notify(text);
    }
  }

  // "key=value" lines as an object; an Error naming the first line without "=".
  function pairs(text) {
    const fields = {};
    text.split("\n").forEach((line, index) => {
      if (!line.trim()) return;
      const at = line.indexOf("=");
      if (at < 0) throw new Error("Line " + (index + 1) + " is not key=value: " + line.trim());
      fields[line.slice(0, at).trim()] = line.slice(at + 1);
    });
    return fields;
  }

  // The API names a bad field as fields -> key -> [problems]: shown beside the one textarea.
  function fieldsTogether(answer) {
    const json = answer.body && answer.body.errors && answer.body.errors.json;
    if (json && json.fields && typeof json.fields === "object" && !Array.isArray(json.fields)) {
      json.fields = Object.entries(json.fields).map(([key, problems]) => key + ": " + [].concat(problems).join(" "));
    }
    return answer;
  }

  // Add (POST) or edit (PUT) a contact: the form's fields as JSON, fields as an object.
  async function saveContact(event) {
    event.preventDefault();
    const form = event.target;
    C.clearErrors(form);
    const body = C.formBody(form);
    if (typeof body.fields === "string") {
      try {
        body.fields = pairs(body.fields);
      } catch (err) {
        C.showErrors(form, {status: 0, body: {message: "The fields are not key=value lines.",
                                               errors: {json: {fields: [err.message]}}}});
        return;
      }
    }
    const button = form.querySelector("[type=submit]");
    button.disabled = true;
    const answer = await C.api(form.dataset.method, form.dataset.url, body);
    button.disabled = false;
    if (!answer.ok) {
      C.showErrors(form, fieldsTogether(answer));
      return;
    }
    noticeLater(form.dataset.doneLater);
    if (form.dataset.next === "reload") window.location.reload();
    else window.location.assign(form.dataset.next.replace("{name}", encodeURIComponent(answer.body.name)));
  }

  // The Content-Type the import takes for a file: by its extension, else its type.
  function importType(file) {
    const name = file.name.toLowerCase();
    if (name.endsWith(".csv") || file.type === "text/csv") return "text/csv";
    if (name.endsWith(".json") || file.type === "application/json") return "application/json";
    return null;
  }

  // {"line 3": {"telegram": ["..."]}} or {"item 2": ["..."]} or ["..."] as [row, field, problem] rows.
  function badRows(errors) {
    const rows = [];
    function walk(value, where, path) {
      if (Array.isArray(value)) {
        value.forEach((item) => (typeof item === "object" ? walk(item, where, path) : rows.push([where, path, String(item)])));
      } else if (value && typeof value === "object") {
        for (const [key, inner] of Object.entries(value)) {
          if (!where) walk(inner, key, "");
          else walk(inner, where, key === "_schema" ? path : (path ? path + "." + key : key));
        }
      } else if (value !== undefined && value !== null) {
        rows.push([where, path, String(value)]);
      }
    }
    for (const located of Object.values(errors || {})) walk(located, "", "");
    return rows;
  }

  function cell(row, label, text) {
    const td = document.createElement("td");
    td.dataset.label = label;
    td.textContent = text;
    row.append(td);
  }

  function showBadRows(result, rows) {
    const table = document.createElement("table");
    table.className = "stack";
    table.id = "bad-rows";
    const caption = table.createCaption();
    caption.textContent = "The rows the import refused";
    const head = table.createTHead().insertRow();
    for (const title of ["Row", "Field", "Problem"]) {
      const th = document.createElement("th");
      th.scope = "col";
      th.textContent = title;
      head.append(th);
    }
    const body = table.createTBody();
    for (const [where, field, problem] of rows) {
      const row = body.insertRow();
      cell(row, "Row", where || "the file");
      cell(row, "Field", field || "–");
      cell(row, "Problem", problem);
    }
    const wrap = document.createElement("div");
    wrap.className = "table-wrap";
    wrap.append(table);
    result.append(wrap);
  }

  // Send the chosen file's bytes to the import as they are; say what it did or list each bad row.
  async function importFile(event) {
    event.preventDefault();
    const form = event.target;
    const result = document.getElementById("import-result");
    C.clearErrors(form);
    result.replaceChildren();
    const file = form.elements.file.files[0];
    const type = file && importType(file);
    if (!type) {
      C.showErrors(form, {status: 0, body: {message: file ? "The file must be .csv or .json." : "Choose a file first.",
                                            errors: {form: {file: [file ? "Not .csv or .json." : "No file chosen."]}}}});
      return;
    }
    const mode = form.elements.mode.value;
    if (mode === "replace" && !window.confirm("Make the book exactly " + file.name +
                                              "? Every contact not in it is removed.")) return;
    const button = form.querySelector("[type=submit]");
    button.disabled = true;
    C.notify("Importing " + file.name + "… a big file takes a minute or more.");
    const answer = await C.api("POST", "/api/v1/contacts/import?mode=" + encodeURIComponent(mode),
                               await file.arrayBuffer(), type);
    button.disabled = false;
    if (answer.ok) {
      const done = answer.body;
      const count = done.added + done.replaced;
      C.notify("Imported " + count + (count === 1 ? " contact" : " contacts") + " from " + file.name + ": " +
               done.added + " new, " + done.replaced + " replaced" +
               (mode === "replace" ? ", " + done.removed + " removed." : "."));
      form.reset();
      return;
    }
    // A 4xx is refused whole; past that, some may be written and the same file again completes it.
    C.notify(answer.status >= 400 && answer.status < 500 ? "Nothing was imported." :
             "The import's outcome is unknown: look at the contacts, or send the same file again to complete it.",
             "error");
    const body = answer.body && typeof answer.body === "object" ? answer.body : {};
    C.showErrors(form, {status: answer.status, body: {message: body.message || String(answer.body || "")}});
    const rows = badRows(body.errors);
    if (rows.length) showBadRows(result, rows);
  }

  function linkRow(list, messenger, label, link) {
    const item = document.createElement("div");
    item.className = "invite-link";
    const id = "invite-" + messenger;
    const name = document.createElement("label");
    name.htmlFor = id;
    name.textContent = label + " link";
    const input = document.createElement("input");
    input.type = "text";
    input.id = id;
    input.readOnly = true;
    input.value = link;
    const copy = document.createElement("button");
    copy.type = "button";
    copy.className = "secondary copy";
    copy.textContent = "Copy";
    copy.setAttribute("aria-label", "Copy the " + label + " link");
    copy.addEventListener("click", () => copyLink(input, label));
    item.append(name, input, copy);
    list.append(item);
  }

  async function copyLink(input, label) {
    try {
      await navigator.clipboard.writeText(input.value);
    } catch (err) {
      input.select();
      if (!document.execCommand("copy")) {
        C.notify("Copying was refused: the link is selected, copy it with Ctrl+C.", "error");
        return;
      }
    }
    C.notify("Copied the " + label + " link.");
  }

  const LABELS = {telegram: "Telegram", whatsapp: "WhatsApp", viber: "Viber"};

  // Make a contact's invite and show its link per messenger, each with a copy button.
  async function makeInvite(event) {
    event.preventDefault();
    const form = event.target;
    const list = document.getElementById("invite-links");
    C.clearErrors(form);
    const button = form.querySelector("[type=submit]");
    button.disabled = true;
    const answer = await C.api("POST", form.dataset.url);
    button.disabled = false;
    if (!answer.ok) {
      C.showErrors(form, answer);
      return;
    }
    list.replaceChildren();
    for (const [messenger, link] of Object.entries(answer.body.links)) {
      linkRow(list, messenger, LABELS[messenger] || messenger, link);
    }
    const expiry = document.createElement("p");
    expiry.className = "hint";
    const when = document.createElement("time");
    when.setAttribute("datetime", answer.body.expires_at);
    when.textContent = answer.body.expires_at;
    expiry.append("They expire ", when, ".");
    list.append(expiry);
    C.localTimes(list);
  }

  document.addEventListener("api:done", (event) => noticeLater(event.target.dataset.doneLater));
  document.addEventListener("DOMContentLoaded", () => {
    const contactForm = document.getElementById("contact-form");
    if (contactForm) contactForm.addEventListener("submit", saveContact);
    const importForm = document.getElementById("import-form");
    if (importForm) importForm.addEventListener("submit", importFile);
    const inviteForm = document.getElementById("invite-form");
    if (inviteForm) inviteForm.addEventListener("submit", makeInvite);
    noticeNow();
  });
})();
