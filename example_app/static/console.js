// Agent console: one agent worked by a person, through Twilio's TaskRouter SDK (window.TaskRouter,
// bundled from npm by example_app/agent_bundle.py). Only the SDK's public API is used.
"use strict";

(function () {
  const page = document.body.dataset;
  const ENDED = new Set(["rejected", "timeout", "canceled", "rescinded", "completed"]);
  const reservations = new Map(); // reservation SID -> {reservation, node}
  let worker = null;
  let releasing = false;

  // -- small DOM helpers (text only: nothing from the network is parsed as HTML) -------------

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "className") node.className = value;
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function slug(text) {
    return String(text || "unknown").toLowerCase().replace(/[^a-z0-9]+/g, "-");
  }

  function message(id, text, kind) {
    const node = document.getElementById(id);
    node.textContent = text;
    node.className = "message" + (kind ? " " + kind : "");
  }

  function log(text, level) {
    const list = document.getElementById("log");
    const now = new Date();
    list.prepend(el("li", { className: level || "" },
      el("time", { datetime: now.toISOString() }, now.toLocaleTimeString([], { hour12: false })),
      el("span", { className: "text" }, text)));
    while (list.children.length > 100) list.lastElementChild.remove();
  }

  function connection(text, live) {
    const badge = document.getElementById("connection");
    badge.textContent = text;
    badge.className = "badge " + (live ? "badge-live" : "badge-wait");
  }

  // The same words as the dashboard's: "Gold ticket #D001", "Chat (es)".
  function taskLabel(attributes) {
    const kind = String(attributes.type || "task");
    const words = attributes.customer_value
      ? [String(attributes.customer_value), kind]
      : [kind.charAt(0).toUpperCase() + kind.slice(1)];
    if (attributes.selected_language && attributes.selected_language !== "en") {
      words.push("(" + attributes.selected_language + ")");
    }
    if (attributes.ref) words.push("#" + attributes.ref);
    return words.join(" ");
  }

  async function post(url, body, options) {
    const response = await fetch(url, Object.assign({
      method: "POST",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify(body || {}),
      credentials: "same-origin",
    }, options || {}));
    let data = null;
    try { data = await response.json(); } catch (error) { data = null; }
    if (!response.ok) {
      const problem = (data && data.error) || { message: response.status + " " + response.statusText };
      throw new Error(problem.message);
    }
    return data;
  }

  // -- the agent's activity ------------------------------------------------------------------

  function renderActivity() {
    const current = worker.activity ? worker.activity.sid : null;
    const name = worker.activity ? worker.activity.name : "unknown";
    const pill = document.getElementById("activity");
    pill.textContent = name;
    pill.className = "pill pill-" + slug(name);
    for (const button of document.querySelectorAll("#activities button")) {
      button.setAttribute("aria-pressed", button.dataset.sid === current ? "true" : "false");
    }
  }

  function renderActivities() {
    const group = document.getElementById("activities");
    const activities = Array.from(worker.activities.values());
    group.replaceChildren(...activities.map((activity) => {
      const button = el("button", { type: "button", "data-sid": activity.sid }, activity.name);
      button.addEventListener("click", () => setActivity(activity, button));
      return button;
    }));
    renderActivity();
  }

  async function setActivity(activity, button) {
    button.disabled = true;
    message("activity-message", "Setting " + activity.name + "…");
    try {
      await activity.setAsCurrent();
      message("activity-message", "You are " + activity.name + ".", "ok");
    } catch (error) {
      message("activity-message", "Could not set " + activity.name + ": " + error.message, "error");
      log("Setting " + activity.name + " failed: " + error.message, "error");
    } finally {
      button.disabled = false;
    }
  }

  // -- reservations --------------------------------------------------------------------------

  function watch(reservation) {
    if (reservations.has(reservation.sid)) return;
    const entry = { reservation, node: el("li", { className: "reservation", "data-reservation": reservation.sid }) };
    reservations.set(reservation.sid, entry);
    const list = document.getElementById("reservations");
    const empty = list.querySelector(".empty");
    if (empty) empty.remove();
    list.prepend(entry.node);
    const label = taskLabel(reservation.task.attributes || {});
    for (const [event, words, level] of [
      ["accepted", "accepted", "good"],
      ["rejected", "rejected", ""],
      ["timeout", "timed out", "bad"],
      ["canceled", "was canceled", "bad"],
      ["rescinded", "was rescinded", ""],
      ["wrapup", "is wrapping up", ""],
      ["completed", "completed", "good"],
    ]) {
      reservation.on(event, () => {
        log(label + " " + words, level);
        render(entry);
        updateHandBack();
      });
    }
    render(entry);
    updateHandBack();
  }

  function render(entry) {
    const { reservation, node } = entry;
    const task = reservation.task;
    const attributes = task.attributes || {};
    const status = reservation.status;
    node.dataset.status = status;
    node.classList.toggle("ended", ENDED.has(status));
    const details = [task.queueName, task.taskChannelUniqueName, attributes.subject, attributes.customer]
      .filter(Boolean).join(" · ");
    const buttons = el("div", { className: "buttons" });
    const action = (label, run, primary) => {
      const button = el("button", { type: "button", className: primary ? "primary" : null }, label);
      button.addEventListener("click", () => act(entry, label, run, buttons));
      buttons.append(button);
    };
    if (status === "pending") {
      action("Accept", () => reservation.accept(), true);
      action("Reject", () => reservation.reject());
    } else if (status === "accepted") {
      action("Wrap up", () => task.wrapUp({ reason: "wrapped up in the agent console" }));
      action("Complete", () => task.complete("resolved in the agent console"), true);
    } else if (status === "wrapping") {
      action("Complete", () => task.complete("resolved in the agent console"), true);
    }
    node.replaceChildren(
      el("div", { className: "head" },
        el("strong", {}, taskLabel(attributes)),
        el("span", { className: "status status-" + slug(status), "data-role": "status" }, status)),
      el("div", { className: "details" }, details || task.sid),
      buttons);
  }

  async function act(entry, label, run, buttons) {
    for (const button of buttons.querySelectorAll("button")) button.disabled = true;
    message("reservation-message", label + "…");
    try {
      await run();
      message("reservation-message", label + ": done.", "ok");
    } catch (error) {
      message("reservation-message", label + " failed: " + error.message, "error");
      log(label + " failed: " + error.message, "error");
    }
    render(entry);
    updateHandBack();
  }

  // -- taking the agent over, and handing them back --------------------------------------------

  function openWork() {
    return Array.from(reservations.values()).some(({ reservation }) => !ENDED.has(reservation.status));
  }

  function updateHandBack() {
    const button = document.getElementById("hand-back");
    button.disabled = !worker || releasing || openWork();
    button.title = openWork()
      ? "Finish your reservations first"
      : "Let the simulation work this agent again";
  }

  async function handBack() {
    releasing = true;
    updateHandBack();
    try {
      await post(page.releaseUrl, {});
      if (worker) worker.disconnect();
      worker = null;
      connection("Handed back", false);
      log("Handed back to the simulation: reload this page to take the agent over again.");
    } catch (error) {
      releasing = false;
      log("Could not hand back: " + error.message, "error");
    }
    updateHandBack();
  }

  // -- the SDK -------------------------------------------------------------------------------

  async function start() {
    // The link's token is for opening the page once: keep it out of the address bar.
    if (location.search) history.replaceState(null, "", page.pageUrl);
    document.getElementById("hand-back").addEventListener("click", handBack);
    if (!window.TaskRouter || !window.TaskRouter.Worker) {
      connection("No SDK", false);
      log("Twilio's TaskRouter SDK is not loaded: see the note above.", "error");
      return;
    }
    let grant;
    try {
      grant = await post(page.tokenUrl, {});
    } catch (error) {
      connection("Refused", false);
      log("No token for this agent: " + error.message, "error");
      return;
    }
    log("Took " + grant.worker.name + " over from the simulation.");
    // Leaving the page hands the agent back to the simulation (see pagehide below), so the
    // socket closing must not also send them Offline, as TaskRouter does by default.
    const options = Object.assign({
      closeExistingSessions: true,
      setWorkerOfflineIfDisconnected: false,
      logLevel: "error",
    }, grant.sdk);
    worker = new window.TaskRouter.Worker(grant.token, options);

    worker.on("ready", () => {
      connection("Live", true);
      document.getElementById("agent-name").textContent = worker.name || grant.worker.name;
      renderActivities();
      for (const reservation of worker.reservations.values()) watch(reservation);
      log("Connected as " + (worker.name || grant.worker.name) + ", " + worker.activity.name + ".");
      updateHandBack();
    });
    worker.on("activityUpdated", () => {
      renderActivity();
      log("Activity: " + worker.activity.name);
    });
    worker.on("reservationCreated", (reservation) => {
      log("New reservation: " + taskLabel(reservation.task.attributes || {}), "good");
      watch(reservation);
    });
    worker.on("tokenExpired", async () => {
      try {
        const renewed = await post(page.tokenUrl, {});
        worker.updateToken(renewed.token);
        log("Token renewed.");
      } catch (error) {
        log("Could not renew the token: " + error.message, "error");
      }
    });
    worker.on("error", (error) => {
      log("SDK error: " + (error && error.message ? error.message : error), "error");
    });
    worker.on("disconnected", () => {
      if (!releasing) connection("Disconnected", false);
      log("Disconnected.");
    });
  }

  // Closing the page hands the agent back (a keepalive request outlives the page).
  window.addEventListener("pagehide", () => {
    if (!worker || releasing) return;
    fetch(page.releaseUrl, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: "{}",
      credentials: "same-origin",
      keepalive: true,
    }).catch(() => {});
  });

  document.addEventListener("DOMContentLoaded", start);
})();
