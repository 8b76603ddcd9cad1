// interec web chat: POST /chat/stream and render the server-sent events as they arrive.
// No framework and no CDN: the page must work on a machine without internet.
"use strict";

const $ = (id) => document.getElementById(id);
const store = window.localStorage;
let busy = false;
let prefix = "";  // "" for the default catalog, "/d/NAME" for another one the server serves

// threads are per catalog: each has its own conversation in this browser
function threadKey() { return "interec.thread" + (prefix ? "." + $("catalog").value : ""); }

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function headers() {
  const h = { "Content-Type": "application/json" };
  const key = $("key").value.trim();
  if (key) h["X-API-Key"] = key;
  return h;
}

function scrollDown() { $("log").scrollTop = $("log").scrollHeight; }

function card(item) {
  const c = el("article", "card");
  c.dataset.iid = item.iid;
  c.appendChild(el("h3", null, item.title || "#" + item.iid));
  for (const [name, value] of Object.entries(item.fields || {})) {
    const line = el("div", "meta");
    if (Array.isArray(value)) {
      value.forEach((v) => line.appendChild(el("span", "chip", v)));
    } else {
      line.textContent = name + ": " + value;
    }
    c.appendChild(line);
  }
  return c;
}

function addUser(text) {
  $("log").appendChild(el("div", "msg user", text));
}

function addAgent() {
  const box = el("div", "msg agent turn");
  const parts = { box, progress: el("ul", "progress"), reply: el("div", "reply"), cards: el("div", "cards") };
  box.append(parts.progress, parts.reply, parts.cards);
  $("log").appendChild(box);
  return parts;
}

function handle(turn, type, data) {
  if (type === "progress" && data.text) {
    turn.progress.appendChild(el("li", null, data.text));
  } else if (type === "token") {
    turn.reply.textContent += data.text;
  } else if (type === "final") {
    if (!data.streamed_ok) turn.reply.textContent = data.reply;  // the grounding check changed the text
    (data.items || []).forEach((it) => turn.cards.appendChild(card(it)));
    store.setItem(threadKey(), data.thread_id);
    turn.box.classList.add("done");
  } else if (type === "error") {
    turn.reply.appendChild(el("div", "error", "Error: " + data.message));
    turn.box.classList.add("done", "failed");
  }
  scrollDown();
}

async function send(text) {
  const turn = addAgent();
  const body = { message: text, mode: $("mode").value, reply_style: $("style").value };
  const thread = store.getItem(threadKey());
  if (thread) body.thread_id = thread;
  const resp = await fetch(prefix + "/chat/stream", { method: "POST", headers: headers(), body: JSON.stringify(body) });
  if (!resp.ok) {
    let detail = resp.statusText;
    try { const j = await resp.json(); detail = typeof j.detail === "string" ? j.detail : JSON.stringify(j.detail); } catch (e) { /* not JSON */ }
    handle(turn, "error", { message: resp.status + " " + detail });
    return;
  }
  const reader = resp.body.getReader();
  const decoder = new TextDecoder();
  let buf = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += decoder.decode(value, { stream: true }).replace(/\r\n/g, "\n");
    let cut;
    while ((cut = buf.indexOf("\n\n")) >= 0) {
      const block = buf.slice(0, cut);
      buf = buf.slice(cut + 2);
      let type = "message", data = "";
      for (const line of block.split("\n")) {
        if (line.startsWith("event: ")) type = line.slice(7);
        else if (line.startsWith("data: ")) data += line.slice(6);
      }
      if (data) handle(turn, type, JSON.parse(data));
    }
  }
}

async function restore() {
  const thread = store.getItem(threadKey());
  if (!thread) return;
  const resp = await fetch(prefix + "/threads/" + encodeURIComponent(thread), { headers: headers() });
  if (!resp.ok) return;
  const hist = await resp.json();
  for (const m of hist.messages) {
    if (m.role === "user") addUser(m.text);
    else addAgent().reply.textContent = m.text;
  }
  scrollDown();
}

function showDomain(h) {
  $("domain").textContent = h.domain ? "· " + h.domain + " (" + (h.items || 0).toLocaleString() + " " + h.item_word + "s)" : "· starting";
}

// Several catalogs on one server (serve --domain A --domain B): the user picks one; the choice is kept.
async function catalogs(defaultName) {
  let list = [];
  try { list = (await (await fetch("/domains")).json()).domains || []; } catch (e) { return; }
  if (list.length < 2) return;
  const select = $("catalog");
  for (const d of list) {
    const o = el("option", null, d.name + " (" + d.items.toLocaleString() + " " + d.item_word + "s)");
    o.value = d.name;
    o.dataset.items = d.items;
    o.dataset.word = d.item_word;
    select.appendChild(o);
  }
  const kept = store.getItem("interec.catalog");
  if (kept && list.some((d) => d.name === kept)) select.value = kept;
  $("catalog-box").hidden = false;
  pick(defaultName);
}

function pick(defaultName) {
  const o = $("catalog").selectedOptions[0];
  prefix = o.value === defaultName ? "" : "/d/" + encodeURIComponent(o.value);
  store.setItem("interec.catalog", o.value);
  showDomain({ domain: o.value, items: Number(o.dataset.items), item_word: o.dataset.word });
  $("msg").placeholder = "What " + o.dataset.word + " are you in the mood for?";
}

async function init() {
  $("key").value = store.getItem("interec.key") || "";
  try {
    const h = await (await fetch("/health")).json();
    showDomain(h);
    await catalogs(h.domain);
    $("key-box").hidden = !h.auth;
    if (h.auth && !$("key").value) $("status").textContent = "This server needs an API key.";
  } catch (e) {
    $("status").textContent = "The server is not reachable.";
  }
  await restore();
}

$("key").addEventListener("change", () => {
  const key = $("key").value.trim();
  store.setItem("interec.key", key);
  // the LangServe playground (/agent/playground/) cannot send headers; a same-site cookie carries the key there
  document.cookie = "interec_api_key=" + encodeURIComponent(key) + "; path=/; SameSite=Strict";
  $("status").textContent = "";
});

$("catalog").addEventListener("change", async () => {
  pick((await (await fetch("/domains")).json()).default);
  $("log").replaceChildren();
  await restore();
});

$("new").addEventListener("click", () => {
  store.removeItem(threadKey());
  $("log").replaceChildren();
  $("msg").focus();
});

$("msg").addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); $("form").requestSubmit(); }
});

$("form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const text = $("msg").value.trim();
  if (!text || busy) return;
  busy = true;
  $("send").disabled = true;
  $("msg").value = "";
  addUser(text);
  scrollDown();
  try {
    await send(text);
  } catch (err) {
    $("status").textContent = "Connection lost: " + err;
  } finally {
    busy = false;
    $("send").disabled = false;
    $("msg").focus();
  }
});

init();
