/// The dashboard's script: a hash-routed page over the control API's JSON routes, kept live by
/// the `/ui/live` feed (the fleet and the history) and by `/v1/logs?follow=true`. Requests go
/// with the session cookie; those that change something add the page's CSRF token.
enum DashboardScript {
    static let text = #"""
    "use strict";
    const csrf = document.querySelector('meta[name="csrf-token"]').content;
    const view = document.getElementById("view");
    // `stream`: the page's own EventSource (log follow, events follow), closed when the page changes.
    const state = { fleet: null, stream: null };
    window.pyreLoadedAt = Date.now();

    function el(tag, attributes, ...children) {
      const node = document.createElement(tag);
      for (const [key, value] of Object.entries(attributes || {})) {
        if (value === undefined || value === null || value === false) continue;
        if (key.startsWith("on")) node.addEventListener(key.slice(2), value); else node.setAttribute(key, value);
      }
      for (const child of children.flat()) {
        if (child !== undefined && child !== null) node.append(child instanceof Node ? child : String(child));
      }
      return node;
    }
    function cell(label, ...content) { return el("td", { "data-label": label }, ...content); }
    function table(headers, rows, attributes) {
      return el("table", attributes, el("thead", {}, el("tr", {}, headers.map(h => el("th", {}, h)))), el("tbody", {}, rows));
    }
    function age(from, now) {
      const seconds = Math.max(0, Math.round((now - new Date(from)) / 1000));
      if (seconds < 120) return seconds + "s";
      if (seconds < 7200) return Math.round(seconds / 60) + "m";
      return (seconds / 3600).toFixed(1) + "h";
    }
    function seconds(value) {
      if (value < 120) return Math.round(value) + "s";
      return value < 7200 ? Math.round(value / 60) + "m" : +(value / 3600).toFixed(1) + "h";
    }
    function shortDigest(image) { return (image || "").replace(/^sha256:/, "").slice(0, 12); }

    async function api(path) {
      const response = await fetch(path, { credentials: "same-origin" });
      if (response.status === 401) { location.reload(); throw new Error("signed out"); }
      if (!response.ok) throw new Error((await response.json().catch(() => ({}))).message || response.statusText);
      return response.json();
    }

    // A state-changing request: confirmed first, sent with the CSRF token, its progress shown.
    async function operate(question, path) {
      if (!confirm(question)) return;
      const section = document.getElementById("operation"), log = document.getElementById("operation-log");
      section.hidden = false;
      log.textContent = "POST " + path + "\n";
      const response = await fetch(path, { method: "POST", credentials: "same-origin", headers: { "X-CSRF-Token": csrf } });
      if (!response.ok) {
        log.textContent += "refused: " + ((await response.json().catch(() => ({}))).message || response.status) + "\n";
        return;
      }
      const reader = response.body.getReader(), decoder = new TextDecoder();
      let pending = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        pending += decoder.decode(value, { stream: true });
        const lines = pending.split("\n");
        pending = lines.pop();
        for (const line of lines) if (line) log.textContent += describeProgress(JSON.parse(line)) + "\n";
      }
    }
    function describeProgress(event) {
      const [kind, body] = Object.entries(event)[0] || ["", {}];
      const details = Object.entries(body || {}).map(([k, v]) => k + "=" + (typeof v === "object" ? JSON.stringify(v) : v));
      return kind + (details.length ? " " + details.join(" ") : "");
    }

    function renderFleet() {
      const fleet = state.fleet;
      if (!fleet) return [el("p", {}, "waiting for the agent…")];
      const now = Date.now();
      const status = fleet.status;
      // Made once: the tables below are redrawn with every probe, the buttons must stay put.
      state.fleetActions = state.fleetActions || el("div", { class: "actions" },
        el("button", { id: "deploy", onclick: () => operate("Deploy the manifest as it is on disk now?", "/v1/deploy") }, "Deploy"),
        el("button", { id: "promote", onclick: () => operate("Promote the canaries to the whole fleet?", "/v1/promote") }, "Promote"),
        el("button", { id: "destroy", onclick: () => operate("Destroy every server of " + status.system + "?", "/v1/destroy") }, "Destroy all"));
      const parts = [state.fleetActions];
      if (status.runningDeployment) parts.push(el("p", {}, "deployment #" + status.runningDeployment + " running"));
      for (const service of status.services) {
        const healthy = service.servers.filter(s => s.health === "healthy").length;
        const maxAge = fleet.max_age[service.name];
        parts.push(el("h2", {}, service.name + " — " + healthy + "/" + service.count + " healthy",
          service.crash_looping ? el("span", { class: "crash" }, " · crash-looping (backing off)") : null));
        if (service.last_death) parts.push(el("p", { class: "muted" }, "last death: " + service.last_death));
        const rows = service.servers.map(server => {
          const probe = fleet.probes[server.id];
          return el("tr", { "data-server": server.id, "data-generation": server.generation },
            cell("server", el("a", { href: "#logs?server=" + encodeURIComponent(server.id) }, server.id)),
            cell("generation", server.generation),
            cell("image", el("span", { class: "mono", title: server.image }, shortDigest(server.image))),
            cell("address", server.address + ":" + server.port),
            cell("age", age(server.created_at, now) + (maxAge ? " of " + seconds(maxAge) : "")),
            cell("health", el("span", { class: "health-" + server.health }, server.health),
              probe ? " · " + probe.latency_ms.toFixed(1) + " ms" : "",
              probe && probe.failure ? el("span", { class: "failure" }, " · " + probe.failure) : null),
            cell("published", server.published ? "published" : "not published"));
        });
        parts.push(table(["server", "gen", "image", "address", "age", "health (last probe)", "traffic"], rows,
          { class: "servers", "data-service": service.name }));
      }
      if (fleet.entrypoints.length) {
        parts.push(el("h2", {}, "Entry points"));
        parts.push(table(["name", "listens on", "service", "backends"], fleet.entrypoints.map(entry => el("tr", {},
          cell("name", entry.name), cell("listens on", entry.listen), cell("service", entry.service),
          cell("backends", entry.backends.length ? entry.backends.join(", ") : "none (connections are refused)")))));
      }
      return parts;
    }

    function renderDeployments() {
      const history = state.fleet ? state.fleet.history.slice().reverse() : [];
      if (!history.length) return [el("p", {}, "no deployments yet")];
      return [table(["#", "trigger", "outcome", "started", "took", "services", ""], history.map(record => el("tr", { "data-deployment": record.number },
        cell("#", el("a", { href: "#deployment/" + record.number }, "#" + record.number)),
        cell("trigger", record.trigger), cell("outcome", record.outcome + (record.reason ? ": " + record.reason : "")),
        cell("started", new Date(record.startedAt).toLocaleString()),
        cell("took", record.finishedAt ? ((new Date(record.finishedAt) - new Date(record.startedAt)) / 1000).toFixed(1) + "s" : "running"),
        cell("services", record.services.join(", ")),
        cell("", el("button", { onclick: () => operate("Roll back to the release of deployment #" + record.number + "?",
          "/v1/rollback?to=" + record.number) }, "Roll back to this")))), { class: "deployments" })];
    }

    async function renderTimeline(number) {
      const report = await api("/v1/history/" + encodeURIComponent(number));
      const start = new Date(report.deployment.startedAt);
      const servers = [...new Set(report.steps.map(step => step.server || ""))];
      const rows = servers.map(server => el("tr", { "data-row": server || "deployment" },
        cell("server", server ? el("a", { href: "#logs?server=" + encodeURIComponent(server) }, server) : el("em", {}, "deployment")),
        cell("steps", el("ol", {}, report.steps.filter(step => (step.server || "") === server).map(step =>
          el("li", {}, el("span", { class: "mono" }, "+" + ((new Date(step.at) - start) / 1000).toFixed(2) + "s "),
            el("strong", {}, step.step), " ", step.detail))))));
      const record = report.deployment;
      return [el("h2", {}, "Deployment #" + record.number + " (" + record.trigger + "): " + record.outcome),
        record.reason ? el("p", {}, record.reason) : null,
        record.rolledBackBy ? el("p", {}, "rolled back by ", el("a", { href: "#deployment/" + record.rolledBackBy }, "#" + record.rolledBackBy)) : null,
        table(["server", "steps"], rows, { class: "timeline" }),
        report.failedServers.map(failed => [el("h2", {}, "last log lines of " + failed.server), el("pre", {}, failed.lines.join("\n") || "(none)")])];
    }

    const logFields = ["service", "server", "generation", "severity", "since", "until", "grep"];
    function renderLogs(parameters) {
      const form = el("form", { class: "filters", id: "logs-form" },
        logFields.map(name => el("label", {}, name, el("input", { name, value: parameters.get(name) || "",
          placeholder: { severity: "err, warning…", since: "10m or ISO time", until: "ISO time" }[name] || "" }))),
        el("label", {}, "follow", el("input", { type: "checkbox", name: "follow", checked: parameters.get("follow") === "true" })),
        el("button", { type: "submit" }, "Search"));
      form.addEventListener("submit", event => {
        event.preventDefault();
        const query = new URLSearchParams();
        for (const name of logFields) { const value = form.elements[name].value.trim(); if (value) query.set(name, value); }
        if (form.elements.follow.checked) query.set("follow", "true");
        location.hash = "logs?" + query.toString();
      });
      const body = el("tbody", { id: "logs-results" });
      const results = el("table", { class: "logs" }, el("thead", {}, el("tr", {}, ["time", "server", "severity", "message"].map(h => el("th", {}, h)))), body);
      const add = (line, first) => {
        const row = el("tr", {}, cell("time", new Date(line.timestamp || line.received_at).toLocaleTimeString()),
          cell("server", line.server ? line.server + " (gen " + line.generation + ")" : line.source),
          cell("severity", line.severity), cell("message", el("span", { class: "mono" }, line.message)));
        if (first) body.prepend(row); else body.append(row);
      };
      const query = new URLSearchParams(parameters);
      query.delete("follow");
      if (parameters.get("follow") === "true") {
        query.set("follow", "true");
        state.stream = new EventSource("/v1/logs?" + query.toString());
        state.stream.onmessage = message => add(JSON.parse(message.data), true);
      } else {
        api("/v1/logs?" + query.toString()).then(page => page.records.forEach(line => add(line, false)),
          error => body.append(el("tr", {}, el("td", {}, "cannot search: " + error.message))));
      }
      return [form, results];
    }

    // A page of $all or of one stream; the last page goes on growing as events commit.
    async function renderEvents(parameters, ticket) {
      const stream = parameters.get("stream");
      const from = Number(parameters.get("from") || 0);
      const path = stream ? "/v1/events/streams/" + encodeURIComponent(stream) : "/v1/events/all";
      const page = await api(path + "?limit=50&from=" + from);
      const link = (query) => "#events?" + new URLSearchParams(query).toString();
      const cursor = event => stream ? event.version : event.position;
      const row = event => el("tr", { "data-cursor": cursor(event) },
        cell(stream ? "version" : "position", cursor(event)),
        cell("stream", el("a", { href: link({ stream: event.stream }) }, event.stream)),
        cell("type", event.type), cell("recorded", new Date(event.recordedAt).toLocaleString()),
        cell("data", el("span", { class: "mono" }, JSON.stringify(event.data))));
      const body = el("tbody", {}, page.events.map(row));
      const events = el("table", { class: "events" },
        el("thead", {}, el("tr", {}, [stream ? "version" : "position", "stream", "type", "recorded", "data"].map(h => el("th", {}, h)))), body);
      const last = page.events.length ? cursor(page.events[page.events.length - 1]) : from - 1;
      const streams = new Set(page.events.map(event => event.stream));
      const summary = el("p", {});
      const summarize = () => summary.replaceChildren(...(streams.size ? ["streams on this page: ", ...[...streams].flatMap((name, index) =>
        [index ? ", " : "", el("a", { href: link({ stream: name }) }, name)])] : ["no events yet"]));
      summarize();
      const parts = [el("h2", {}, stream ? "stream " + stream : "$all"),
        stream ? el("p", {}, el("a", { href: "#events" }, "← $all")) : summary,
        events,
        el("div", { class: "actions" },
          from > 0 ? el("a", { href: link(Object.assign(stream ? { stream } : {}, { from: Math.max(0, from - 50) })) }, "← previous page") : null,
          page.events.length === 50 ? el("a", { href: link(Object.assign(stream ? { stream } : {}, { from: last + 1 })) }, "next page →") : null)];
      if (page.events.length < 50 && ticket === renders) {
        const query = new URLSearchParams({ from: last + 1 });
        if (stream) query.set("stream", stream);
        state.stream = new EventSource("/v1/events/subscribe?" + query.toString());
        state.stream.onmessage = message => {
          const event = JSON.parse(message.data);
          body.append(row(event));
          streams.add(event.stream);
          summarize();
        };
      }
      return parts;
    }

    async function renderDNS() {
      const report = await api("/v1/dns");
      return [el("p", {}, "served at " + report.address + " (UDP and TCP)" + (report.listen ? ", and for the host at " + report.listen : "")),
        el("pre", { id: "zone" }, report.zone)];
    }

    // A redraw that finished after a newer one started is dropped: pages load in any order.
    let renders = 0;
    async function render() {
      const ticket = ++renders;
      if (state.stream) { state.stream.close(); state.stream = null; }
      const [route, queryText] = (location.hash.slice(1) || "fleet").split("?");
      const parameters = new URLSearchParams(queryText || "");
      for (const link of document.querySelectorAll("nav a")) link.classList.toggle("current", link.getAttribute("href") === "#" + route.split("/")[0]);
      let content;
      try {
        if (route === "fleet") content = renderFleet();
        else if (route === "deployments") content = renderDeployments();
        else if (route.startsWith("deployment/")) content = await renderTimeline(route.split("/")[1]);
        else if (route === "logs") content = renderLogs(parameters);
        else if (route === "events") content = await renderEvents(parameters, ticket);
        else if (route === "dns") content = await renderDNS();
        else content = [el("p", {}, "no page " + route)];
      } catch (error) {
        content = [el("p", { class: "failure" }, "cannot show this page: " + error.message)];
      }
      if (ticket !== renders) return;
      view.replaceChildren(...[content].flat(2).filter(Boolean));
      view.dataset.route = route;
    }

    // The fleet and history arrive whenever they change. The pages drawn from them redraw, and
    // so do those that change with them: a deployment's timeline and the zone. Logs and events
    // follow streams of their own.
    const live = new EventSource("/ui/live");
    live.addEventListener("fleet", message => {
      const previous = state.fleet;
      state.fleet = JSON.parse(message.data);
      document.getElementById("connection").textContent = "live · updated " + new Date().toLocaleTimeString();
      const route = (location.hash.slice(1) || "fleet").split("?")[0];
      // Probes change the fleet page only; servers and deployments change the others.
      const changed = key => !previous || JSON.stringify(previous[key]) !== JSON.stringify(state.fleet[key]);
      if (route === "fleet") render();
      else if (route === "deployments" && changed("history")) render();
      else if ((route === "dns" || route.startsWith("deployment/")) && (changed("history") || changed("status"))) render();
    });
    live.onerror = () => { document.getElementById("connection").textContent = "disconnected; reconnecting…"; };
    window.addEventListener("hashchange", render);
    render();
    """#
}
