// The Compose page: recipients picked from the book a page at a time (or
// everyone, or by the start of their names), a live preview of what the
// first few get, a confirmation that counts the deliveries, and one send per
// body (its Idempotency-Key), all through /api/v1.
"use strict";

(function () {
  const C = window.Console;
  const form = document.getElementById("compose");
  if (!form) return;
  const $ = (id) => document.getElementById(id);
  const MAX_RECIPIENTS = Number(form.dataset.maxRecipients);
  const MESSENGERS = form.dataset.messengers.split(" ");
  const PICK_PAGE = 10;
  const NAMES_PAGE = 2000;
  const PREVIEW_FOR = 3;
  const DEBOUNCE_MS = 350;
  // Names chosen by hand, in the order chosen: name -> its messengers, as shown.
  const chosen = new Map();
  const picker = {prefix: "", page: 1, seq: 0};
  let previewSeq = 0;
  let pending = null;
  let key = null;
  let keyedBody = null;

  function debounce(fn, ms) {
    let timer;
    return (...args) => { clearTimeout(timer); timer = setTimeout(() => fn(...args), ms); };
  }

  const radio = (name) => form.querySelector('input[name="' + name + '"]:checked').value;
  const plural = (n, one, many) => n + " " + (n === 1 ? one : many);
  const matching = (n) => plural(n, "contact matches.", "contacts match.");

  // An error of the page's own, in the shape of the API's, so it shows by its field.
  const refusal = (field, text) => ({error: {status: 0, body: {message: text, errors: {json: {[field]: [text]}}}}});

  // A page of contacts from GET /api/v1/contacts: {contacts, total}, or {error}.
  async function contactsPage(prefix, page, size) {
    const query = new URLSearchParams({page: String(page), page_size: String(size)});
    if (prefix) query.set("q", prefix);
    const answer = await C.api("GET", "/api/v1/contacts?" + query);
    if (!answer.ok) return {error: answer};
    const paging = JSON.parse(answer.headers.get("X-Pagination") || "{}");
    return {contacts: answer.body, total: paging.total || 0};
  }

  const messengersOf = (contact) => MESSENGERS.filter((m) => contact[m]).join(", ") || "no messenger";

  // ---- Choosing by hand

  function pickItem(contact, n) {
    const item = document.createElement("li");
    item.dataset.name = contact.name;
    const box = document.createElement("input");
    box.type = "checkbox";
    box.id = "pick-" + n;
    box.value = contact.name;
    box.checked = chosen.has(contact.name);
    const label = document.createElement("label");
    label.className = "inline";
    label.htmlFor = box.id;
    label.textContent = contact.name + " ";
    const hint = document.createElement("span");
    hint.className = "hint";
    hint.textContent = "(" + messengersOf(contact) + ")";
    label.prepend(box);
    label.append(hint);
    box.addEventListener("change", () => {
      if (box.checked) chosen.set(contact.name, messengersOf(contact));
      else chosen.delete(contact.name);
      showChosen();
    });
    item.append(label);
    return item;
  }

  async function showPickPage() {
    const seq = ++picker.seq;
    const got = await contactsPage(picker.prefix, picker.page, PICK_PAGE);
    if (seq !== picker.seq) return;
    const count = $("contact-count");
    if (got.error) { count.textContent = got.error.body && got.error.body.message || "The contacts could not be read."; return; }
    const pages = Math.max(1, Math.ceil(got.total / PICK_PAGE));
    if (picker.page > pages) { picker.page = pages; showPickPage(); return; }
    $("contact-list").replaceChildren(...got.contacts.map((c, i) => pickItem(c, (picker.page - 1) * PICK_PAGE + i)));
    count.textContent = got.total ? (picker.prefix ? matching(got.total) : plural(got.total, "contact", "contacts") + " in the book.")
      : (picker.prefix ? "No contact's name starts with that." : "The book is empty: add contacts first.");
    $("contacts-page").textContent = "Page " + picker.page + " of " + pages;
    $("contacts-prev").disabled = picker.page <= 1;
    $("contacts-next").disabled = picker.page >= pages;
  }

  function showChosen() {
    const list = $("chosen");
    list.replaceChildren(...Array.from(chosen, ([name, messengers]) => {
      const item = document.createElement("li");
      item.dataset.name = name;
      item.append(name + " (" + messengers + ") ");
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "secondary";
      remove.textContent = "Remove";
      remove.setAttribute("aria-label", "Remove " + name);
      remove.addEventListener("click", () => {
        chosen.delete(name);
        form.querySelectorAll("#contact-list input[type=checkbox]").forEach((box) => {
          if (box.value === name) box.checked = false;
        });
        showChosen();
      });
      item.append(remove);
      return item;
    }));
    $("chosen-count").textContent = String(chosen.size);
    schedulePreview();
  }

  // ---- Everyone, or everyone whose name starts so

  const prefixOf = () => $("to-prefix").value;

  async function showPrefixCount() {
    const prefix = prefixOf();
    const note = $("prefix-count");
    if (!prefix.trim()) { note.textContent = "Type the start of the names."; return; }
    const got = await contactsPage(prefix, 1, 1);
    if (prefix !== prefixOf()) return;
    if (got.error) { note.textContent = got.error.body && got.error.body.message || "Could not count them."; return; }
    note.textContent = got.total ? matching(got.total) : "No contact's name starts with that.";
  }

  // The first few recipients, for the preview.
  async function someRecipients() {
    const mode = radio("to_mode");
    if (mode === "picked") return Array.from(chosen.keys()).slice(0, PREVIEW_FOR);
    if (mode === "search" && !prefixOf().trim()) return [];
    const got = await contactsPage(mode === "search" ? prefixOf() : "", 1, PREVIEW_FOR);
    return got.error ? [] : got.contacts.map((c) => c.name);
  }

  // Every recipient of the send: {names}, or {error} as an API answer.
  async function allRecipients() {
    const mode = radio("to_mode");
    if (mode === "picked") return chosen.size ? {names: Array.from(chosen.keys())} : refusal("to", "Choose at least one contact.");
    const prefix = mode === "search" ? prefixOf() : "";
    if (mode === "search" && !prefix.trim()) return refusal("to", "Type the start of the names to send to.");
    const names = [];
    for (let page = 1; ; page++) {
      const got = await contactsPage(prefix, page, NAMES_PAGE);
      if (got.error) return {error: got.error};
      if (got.total > MAX_RECIPIENTS) {
        return refusal("to", got.total + " contacts match; one send may name at most " + MAX_RECIPIENTS +
                             ". Narrow them by the start of their names.");
      }
      if (!got.total) return refusal("to", "No contact matches.");
      names.push(...got.contacts.map((c) => c.name));
      if (names.length >= got.total || !got.contacts.length) return {names};
    }
  }

  // ---- The body

  // A datetime-local value (the browser's time) as ISO UTC; as typed if it is no time.
  function utc(value) {
    const when = new Date(value);
    return value && !isNaN(when) ? when.toISOString() : value;
  }

  function sendBody(names) {
    const body = {to: names, text: $("text").value};
    if ($("template").checked) body.template = true;
    const route = radio("route");
    if (route === "only") body.messengers = MESSENGERS.filter((m) => $("messenger-" + m).checked);
    if (route === "fallback") {
      body.fallback = MESSENGERS.map((_, i) => $("fallback-" + (i + 1)).value).filter(Boolean);
      if ($("fallback-after").value === "delivered") {
        body.fallback_after = "delivered";
        const within = $("fallback-within").value.trim();
        if (within) body.fallback_within = Number(within);
      }
    }
    const when = radio("when");
    if (when === "at") body.not_before = utc($("not-before").value);
    if (when === "local") body.local_time = $("local-time").value;
    if ($("quiet").checked) body.quiet_hours = [$("quiet-start").value, $("quiet-end").value];
    return body;
  }

  // ---- The live preview

  function cell(label, content) {
    const td = document.createElement("td");
    td.dataset.label = label;
    td.append(content);
    return td;
  }

  function timeOf(iso) {
    const time = document.createElement("time");
    time.dateTime = iso;
    time.textContent = iso;
    return time;
  }

  function previewRow(delivery) {
    const row = document.createElement("tr");
    row.dataset.contact = delivery.contact;
    const text = cell("Text", delivery.text);
    text.className = "message-text";
    row.append(cell("Contact", delivery.contact), cell("Messenger", delivery.messenger), text,
               cell("Due", timeOf(delivery.due_at)));
    return row;
  }

  async function runPreview() {
    const seq = ++previewSeq;
    const status = $("preview-status");
    const rows = $("preview-rows");
    const names = await someRecipients();
    if (seq !== previewSeq) return;
    if (!names.length || !$("text").value) {
      rows.replaceChildren();
      status.textContent = "Choose recipients and write a text to see what the first few get.";
      return;
    }
    status.textContent = "Previewing…";
    const answer = await C.api("POST", "/api/v1/messages/preview", sendBody(names));
    if (seq !== previewSeq) return;
    if (!answer.ok) {
      rows.replaceChildren();
      status.textContent = (answer.body && answer.body.message) || "The preview failed (" + answer.status + ").";
      status.classList.add("preview-error");
      return;
    }
    status.classList.remove("preview-error");
    rows.replaceChildren(...answer.body.deliveries.map(previewRow));
    C.localTimes(rows);
    status.textContent = "What " + (names.length === 1 ? "the first contact gets" : "the first " + names.length +
      " contacts get") + ": " + plural(answer.body.deliveries.length, "delivery", "deliveries") + ".";
  }

  const schedulePreview = debounce(runPreview, DEBOUNCE_MS);

  // ---- Confirming and sending

  function newKey() {
    return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
  }

  // One key per body: a second click of the same send is the same send, an edited one a new send.
  function keyFor(body) {
    const text = JSON.stringify(body);
    if (text !== keyedBody) {
      key = newKey();
      keyedBody = text;
      form.dataset.idempotencyKey = key;
    }
    return key;
  }

  function showConfirmation(deliveries, contacts, body) {
    const n = deliveries.length;
    const byMessenger = {};
    deliveries.forEach((d) => { byMessenger[d.messenger] = (byMessenger[d.messenger] || 0) + 1; });
    $("confirm-text").textContent = n
      ? "This send makes " + plural(n, "delivery", "deliveries") + " to " + plural(contacts, "contact", "contacts") +
        (body.fallback ? ", one step of each chain at a time: a later step goes only if the one before it fails." : ".")
      : "This send makes no delivery: none of these contacts has an ID for the messengers chosen.";
    $("confirm-breakdown").replaceChildren(...Object.entries(byMessenger).map(([messenger, count]) => {
      const item = document.createElement("li");
      item.textContent = messenger + ": " + count;
      return item;
    }));
    const dues = deliveries.map((d) => d.due_at).sort();
    const when = $("confirm-when");
    when.replaceChildren();
    if (n) {
      when.append(dues[0] === dues[n - 1] ? "Due " : "Due from ", timeOf(dues[0]));
      if (dues[0] !== dues[n - 1]) when.append(" to ", timeOf(dues[n - 1]));
      when.append(".");
      C.localTimes(when);
    }
    const confirm = $("confirm-send");
    confirm.textContent = n ? "Send " + plural(n, "delivery", "deliveries") : "Send";
    confirm.disabled = !n;
    $("confirm-dialog").showModal();
    if (n) confirm.focus();
  }

  async function review(event) {
    event.preventDefault();
    C.clearErrors(form);
    const button = $("send");
    button.disabled = true;
    try {
      const got = await allRecipients();
      if (got.error) { C.showErrors(form, got.error); return; }
      const body = sendBody(got.names);
      const answer = await C.api("POST", "/api/v1/messages/preview", body);
      if (!answer.ok) { C.showErrors(form, answer); return; }
      pending = body;
      showConfirmation(answer.body.deliveries, got.names.length, body);
    } finally {
      button.disabled = false;
    }
  }

  async function send() {
    const button = $("confirm-send");
    if (!pending || button.disabled) return;
    button.disabled = true;
    const answer = await C.api("POST", "/api/v1/messages", pending, undefined, {"Idempotency-Key": keyFor(pending)});
    if (answer.ok) {
      window.location.assign("/app/messages/" + encodeURIComponent(answer.body.id));
      return;
    }
    button.disabled = false;
    $("confirm-dialog").close();
    C.showErrors(form, answer);
  }

  // ---- Showing what each choice needs

  function showChoices() {
    const mode = radio("to_mode");
    $("picker").hidden = mode !== "picked";
    $("prefix-box").hidden = mode !== "search";
    const route = radio("route");
    form.querySelectorAll("[data-route]").forEach((el) => { el.hidden = el.dataset.route !== route; });
    const when = radio("when");
    form.querySelectorAll("[data-when]").forEach((el) => { el.hidden = el.dataset.when !== when; });
    $("quiet-box").hidden = !$("quiet").checked;
    $("within-box").hidden = $("fallback-after").value !== "delivered";
  }

  const searchPicker = debounce(() => { picker.prefix = $("contact-search").value; picker.page = 1; showPickPage(); },
                                DEBOUNCE_MS);
  const countPrefix = debounce(showPrefixCount, DEBOUNCE_MS);

  form.addEventListener("input", (event) => {
    if (event.target.id === "contact-search") { searchPicker(); return; }
    if (event.target.id === "to-prefix") countPrefix();
    if (event.target.closest("#contact-list")) return;
    showChoices();
    schedulePreview();
  });
  form.addEventListener("change", (event) => {
    if (event.target.closest("#contact-list") || event.target.id === "contact-search") return;
    showChoices();
    if (event.target.name === "to_mode" && radio("to_mode") === "search") showPrefixCount();
    schedulePreview();
  });
  // Enter in a search box searches; it does not start the send.
  form.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && event.target.type === "search") event.preventDefault();
  });
  form.addEventListener("submit", review);
  $("contacts-prev").addEventListener("click", () => { picker.page -= 1; showPickPage(); });
  $("contacts-next").addEventListener("click", () => { picker.page += 1; showPickPage(); });
  $("confirm-send").addEventListener("click", send);
  $("confirm-back").addEventListener("click", () => $("confirm-dialog").close());
  showChoices();
  showPickPage();
})();
