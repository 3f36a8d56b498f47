// Support desk dashboard: live through server-sent events, no framework, no network but this app.
"use strict";

(function () {
  const QUEUE_COLORS = { "Gold Tickets": "--gold", "Spanish": "--spanish", "Everyone": "--everyone" };
  const OUTCOMES = [
    ["accepted", "Accepted", "--good"],
    ["rejected", "Rejected", "--bad"],
    ["timed_out", "Timed out", "--warn"],
    ["rescinded", "Rescinded", "--muted"],
  ];
  const SVG = "http://www.w3.org/2000/svg";
  let latest = null;

  // -- small DOM helpers (text only: nothing from the server is parsed as HTML) ---------------

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "className") node.className = value;
      else if (key === "style") node.setAttribute("style", value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function svg(tag, attrs, text) {
    const node = document.createElementNS(SVG, tag);
    for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, String(value));
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function cssVar(name) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || "#888";
  }

  function duration(seconds) {
    seconds = Math.max(0, Math.round(seconds));
    if (seconds < 60) return seconds + " s";
    const minutes = Math.floor(seconds / 60);
    return minutes + " min " + String(seconds % 60).padStart(2, "0") + " s";
  }

  function clock(epoch) {
    return new Date(epoch * 1000).toLocaleTimeString([], { hour12: false });
  }

  function slug(text) {
    return String(text || "unknown").toLowerCase().replace(/[^a-z0-9]+/g, "-");
  }

  function setText(id, text) {
    const node = document.getElementById(id);
    if (node.textContent !== String(text)) node.textContent = text;
  }

  function message(id, text, kind) {
    const node = document.getElementById(id);
    node.textContent = text;
    node.className = "message" + (kind ? " " + kind : "");
  }

  async function post(url, body) {
    const response = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify(body),
    });
    let data = null;
    try { data = await response.json(); } catch (error) { data = null; }
    if (!response.ok) {
      const problem = (data && data.error) || { message: response.status + " " + response.statusText };
      const failure = new Error(problem.message);
      failure.field = problem.field;
      throw failure;
    }
    return data;
  }

  // -- rendering -----------------------------------------------------------------------------

  function render(data) {
    latest = data;
    const totals = data.totals;
    setText("total-created", totals.created);
    setText("total-assigned", totals.assigned);
    setText("total-completed", totals.completed);
    setText("total-wait", totals.mean_wait.toFixed(1) + " s");
    renderTraffic(data.traffic);
    renderQueues(data.queues);
    renderOutcomes(data.outcomes);
    renderChart(data.chart, data.now);
    renderAgents(data.workers, data.activities, data.daily_limit, data.consoles || {}, data.at_console || []);
    renderWatched(data.watched);
    renderLog(data.log, data.log_total);
  }

  function renderTraffic(traffic) {
    const button = document.getElementById("traffic-toggle");
    if (!traffic) {
      setText("traffic-state", "No simulated traffic");
      button.hidden = true;
      return;
    }
    button.hidden = false;
    if (!button.dataset.busy) {
      button.textContent = traffic.paused ? "Resume traffic" : "Pause traffic";
      button.setAttribute("aria-pressed", traffic.paused ? "true" : "false");
    }
    setText("traffic-state", traffic.paused
      ? "New tasks paused"
      : "Simulated traffic: " + traffic.rate + " tasks/s");
  }

  function renderQueues(queues) {
    const list = document.getElementById("queues");
    list.replaceChildren(...queues.map((queue) => {
      const color = cssVar(QUEUE_COLORS[queue.name] || "--accent");
      const late = queue.longest_wait >= 30;
      return el("li", { className: "queue", style: "--queue-color:" + color, "data-queue": queue.name },
        el("div", { className: "queue-name" }, queue.name),
        el("div", { className: "queue-depth", "data-role": "depth" },
          String(queue.depth), " ", el("small", {}, "waiting")),
        el("div", { className: "queue-wait" + (late ? " late" : ""), "data-role": "wait" },
          queue.depth ? "Longest wait " + duration(queue.longest_wait) : "Nobody waiting"),
        el("div", { className: "queue-target", title: "Target workers expression" }, queue.target_workers));
    }));
  }

  function renderOutcomes(outcomes) {
    const total = OUTCOMES.reduce((sum, [key]) => sum + (outcomes[key] || 0), 0);
    const list = document.getElementById("outcomes");
    list.replaceChildren(...OUTCOMES.map(([key, label, color]) => {
      const count = outcomes[key] || 0;
      const share = total ? Math.round((100 * count) / total) : 0;
      return el("li", { className: "outcome", "data-outcome": key },
        el("span", {}, label),
        el("span", { className: "outcome-bar", "aria-hidden": "true" },
          el("span", { style: "width:" + share + "%;--bar:" + cssVar(color) })),
        el("span", { className: "outcome-count", "aria-label": label + ": " + count + " (" + share + "%)" }, count));
    }));
  }

  function renderChart(chart, now) {
    const root = document.getElementById("chart");
    const desc = document.getElementById("chart-desc");
    root.replaceChildren(desc);
    const width = 640, height = 240, left = 44, right = 12, top = 12, bottom = 28;
    const start = now - chart.window;
    const points = chart.series.flatMap((series) => series.points.map((p) => p[1]));
    const peak = Math.max(4, ...points);
    const step = peak <= 8 ? 2 : peak <= 20 ? 5 : peak <= 60 ? 15 : 60;
    const yMax = Math.ceil(peak / step) * step;
    const x = (t) => left + ((t - start) / chart.window) * (width - left - right);
    const y = (v) => top + (1 - v / yMax) * (height - top - bottom);

    for (let v = 0; v <= yMax; v += step) {
      root.append(svg("line", { class: "grid-line", x1: left, x2: width - right, y1: y(v), y2: y(v) }));
      root.append(svg("text", { class: "axis-label", x: left - 6, y: y(v) + 4, "text-anchor": "end" }, v + " s"));
    }
    const tick = chart.window <= 90 ? 15 : 60;
    for (let ago = 0; ago <= chart.window + 0.001; ago += tick) {
      const label = ago === 0 ? "now" : "−" + (tick === 60 ? ago / 60 + " min" : ago + " s");
      root.append(svg("text", { class: "axis-label", x: x(now - ago), y: height - 8,
        "text-anchor": ago === 0 ? "end" : "middle" }, label));
    }
    setText("chart-span", chart.window >= chart.max_window
      ? "· last " + Math.round(chart.max_window / 60) + " minutes"
      : "· since the desk opened");
    let any = false;
    const legend = document.getElementById("chart-legend");
    legend.replaceChildren();
    for (const series of chart.series) {
      const color = cssVar(QUEUE_COLORS[series.queue] || "--accent");
      const visible = series.points.filter((p) => p[0] >= start);
      legend.append(el("li", { style: "--swatch:" + color },
        series.queue + (visible.length ? " · latest " + visible[visible.length - 1][1] + " s" : " · no data")));
      if (!visible.length) continue;
      any = true;
      const path = visible.map((p) => x(p[0]).toFixed(1) + "," + y(p[1]).toFixed(1)).join(" ");
      root.append(svg("polyline", { class: "series", points: path, stroke: color }));
      for (const p of visible) {
        root.append(svg("circle", { cx: x(p[0]).toFixed(1), cy: y(p[1]).toFixed(1), r: 3, fill: color }));
      }
    }
    if (!any) {
      root.append(svg("text", { class: "empty", x: width / 2, y: height / 2, "text-anchor": "middle" },
        "No task accepted yet in this period"));
    }
  }

  function renderAgents(workers, activities, limit, consoles, atConsole) {
    const body = document.querySelector("#agents tbody");
    const seen = new Set();
    let available = 0;
    workers.forEach((worker, index) => {
      seen.add(worker.sid);
      if (worker.activity === "Available") available += 1;
      let row = body.querySelector('tr[data-sid="' + worker.sid + '"]');
      if (!row) row = createAgentRow(worker, activities);
      if (body.children[index] !== row) body.insertBefore(row, body.children[index] || null);
      updateAgentRow(row, worker, activities, limit, consoles[worker.sid], atConsole.includes(worker.sid));
    });
    for (const row of Array.from(body.children)) {
      if (!seen.has(row.dataset.sid)) row.remove();
    }
    setText("agents-summary", "· " + available + " of " + workers.length + " available");
  }

  function createAgentRow(worker, activities) {
    const select = el("select", { "aria-label": "Activity of " + worker.name, "data-role": "activity-select" },
      ...activities.map((name) => el("option", { value: name }, name)));
    select.addEventListener("change", () => changeActivity(worker, select));
    return el("tr", { "data-sid": worker.sid, "data-name": worker.name },
      el("td", { className: "agent-name" }),
      el("td", { "data-role": "activity" }),
      el("td", { "data-role": "task" }),
      el("td", { className: "tags", "data-role": "tags" }),
      el("td", { className: "num", "data-role": "today" }),
      el("td", {}, select),
      el("td", { "data-role": "console" }));
  }

  function updateAgentRow(row, worker, activities, limit, consoleUrl, atConsole) {
    const cells = row.children;
    cells[0].replaceChildren(worker.name, " ", el("span", { className: "level" }, "L" + (worker.level ?? "?")));
    const activity = worker.activity || "unknown";
    cells[1].replaceChildren(el("span", { className: "pill pill-" + slug(activity) }, activity));
    cells[2].replaceChildren(...(worker.task
      ? [worker.task.label, " ", el("span", { className: "task-status" }, worker.task.status)]
      : [el("span", { className: "muted" }, "—")]));
    cells[3].textContent = worker.skills.join(", ") + " · " + worker.languages.join(", ");
    const today = worker.handled_today ?? "";
    const over = limit && typeof today === "number" && today >= limit;
    cells[4].textContent = today;
    cells[4].className = "num" + (over ? " over-limit" : "");
    cells[4].title = over ? "At the daily limit of " + limit + ": new tasks are rejected" : "";
    const select = cells[5].firstChild;
    if (document.activeElement !== select && !select.dataset.busy && worker.activity) {
      if (activities.includes(worker.activity)) select.value = worker.activity;
    }
    updateConsoleCell(cells[6], worker, consoleUrl, atConsole);
  }

  // A signed link to the agent's console (valid an hour; a fresh one comes with each update),
  // and whether a person works the agent there now.
  function updateConsoleCell(cell, worker, consoleUrl, atConsole) {
    let link = cell.querySelector("a");
    if (!consoleUrl) {
      cell.replaceChildren();
      return;
    }
    if (!link) {
      link = el("a", { target: "_blank", rel: "noopener noreferrer", "aria-label": "Console of " + worker.name }, "Console");
      cell.replaceChildren(link, el("span", { className: "at-console", "data-role": "at-console" }));
    }
    if (link.getAttribute("href") !== consoleUrl) link.setAttribute("href", consoleUrl);
    const marker = cell.querySelector('[data-role="at-console"]');
    const text = atConsole ? " · in use" : "";
    if (marker.textContent !== text) marker.textContent = text;
    marker.title = atConsole ? "A person works this agent in the console" : "";
  }

  async function changeActivity(worker, select) {
    const activity = select.value;
    select.dataset.busy = "1";
    select.disabled = true;
    message("agent-message", "Moving " + worker.name + " to " + activity + "…");
    try {
      await post("/api/workers/" + encodeURIComponent(worker.sid) + "/activity", { activity });
      message("agent-message", worker.name + " is now " + activity + ".", "ok");
    } catch (error) {
      message("agent-message", "Could not move " + worker.name + ": " + error.message, "error");
    } finally {
      delete select.dataset.busy;
      select.disabled = false;
    }
  }

  function renderWatched(watched) {
    const list = document.getElementById("watched");
    if (!watched.length) {
      list.replaceChildren(el("li", { className: "empty" }, "None yet: create one above."));
      return;
    }
    list.replaceChildren(...watched.map((task) => el("li", { "data-task": task.sid },
      el("div", { className: "head" },
        el("strong", {}, task.label),
        el("span", { className: "status status-" + slug(task.status), "data-role": "status" }, task.status)),
      el("div", { className: "history", "data-role": "history" },
        task.history.join(" → ") + (task.worker ? " · " + task.worker : "")))));
  }

  function renderLog(entries, total) {
    setText("log-count", total + (total === 1 ? " event" : " events"));
    const list = document.getElementById("log");
    const first = list.firstElementChild;
    if (first && entries.length && first.dataset.n === String(entries[0].n)) return;
    list.replaceChildren(...entries.map((entry) => el("li", { className: entry.level, "data-n": entry.n },
      el("time", { datetime: new Date(entry.t * 1000).toISOString() }, clock(entry.t)),
      el("span", {}, el("span", { className: "text" }, entry.text), el("span", { className: "type" }, entry.type)))));
  }

  // -- controls ------------------------------------------------------------------------------

  function setUpForm() {
    const form = document.getElementById("new-task");
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const button = form.querySelector("button[type=submit]");
      for (const field of form.querySelectorAll("[aria-invalid]")) field.removeAttribute("aria-invalid");
      const body = {
        type: form.elements.type.value,
        customer_value: form.elements.customer_value.value,
        selected_language: form.elements.selected_language.value,
        subject: form.elements.subject.value.trim(),
      };
      const priority = form.elements.priority.value.trim();
      if (priority !== "") body.priority = Number(priority);
      button.disabled = true;
      message("task-message", "Creating…");
      try {
        const created = await post("/api/tasks", body);
        message("task-message", "Created #" + created.ref + " (" + created.sid + ").", "ok");
        form.elements.subject.value = "";
      } catch (error) {
        message("task-message", error.message, "error");
        if (error.field && form.elements[error.field]) {
          form.elements[error.field].setAttribute("aria-invalid", "true");
          form.elements[error.field].focus();
        }
      } finally {
        button.disabled = false;
      }
    });

    const toggle = document.getElementById("traffic-toggle");
    toggle.addEventListener("click", async () => {
      const pause = !(latest && latest.traffic && latest.traffic.paused);
      toggle.dataset.busy = "1";
      toggle.disabled = true;
      try {
        const status = await post("/api/traffic", { paused: pause });
        toggle.textContent = status.paused ? "Resume traffic" : "Pause traffic";
        if (latest) latest.traffic = status;
      } catch (error) {
        message("agent-message", "Could not change traffic: " + error.message, "error");
      } finally {
        delete toggle.dataset.busy;
        toggle.disabled = false;
      }
    });
  }

  // -- live updates --------------------------------------------------------------------------

  function connect() {
    const badge = document.getElementById("connection");
    const source = new EventSource("/api/stream");
    source.addEventListener("open", () => {
      badge.textContent = "Live";
      badge.className = "badge badge-live";
    });
    source.addEventListener("snapshot", (event) => {
      badge.textContent = "Live";
      badge.className = "badge badge-live";
      render(JSON.parse(event.data));
    });
    source.addEventListener("error", () => {
      badge.textContent = "Reconnecting…";
      badge.className = "badge badge-wait";
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    setUpForm();
    connect();
  });
})();
