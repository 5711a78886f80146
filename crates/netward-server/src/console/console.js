// netward console: live updates from /console/live, applied in place. Only textContent is
// set from data, never HTML; a section marked data-refresh (the overview) is replaced by the
// server's own rendering of it, read again from the same URL.
"use strict";
(function () {
  // A refused form: focus its error summary (role=alert, so it is announced) and say so in
  // the title.
  const summary = document.getElementById("error-summary");
  if (summary) {
    if (!document.title.startsWith("Error")) document.title = "Error: " + document.title;
    summary.focus();
  }
})();
(function () {
  if (!document.querySelector("header nav")) return; // signed out
  const live = document.getElementById("live");
  function announce(text) {
    live.textContent = text;
  }
  const STATUS = { new: "New", inProgress: "In progress", resolved: "Resolved" };
  function hits(n) { return n === 1 ? "1 hit" : n + " hits"; }
  function cell(text) {
    const td = document.createElement("td");
    td.textContent = text;
    return td;
  }
  const es = new EventSource("/console/live");
  // Free the connection as soon as the page goes away: browsers allow few per server.
  window.addEventListener("pagehide", function () { es.close(); });
  es.addEventListener("machines", function (e) {
    for (const m of JSON.parse(e.data)) {
      for (const el of document.querySelectorAll('[data-id="' + CSS.escape(m.id) + '"]')) {
        const field = el.getAttribute("data-live");
        if (field === "sync") {
          el.textContent = m.sync;
          el.className = m.inSync ? "good" : "warn";
        } else if (field === "online") {
          el.textContent = m.online;
        } else if (field === "applied") {
          el.textContent = m.applied;
        }
      }
    }
  });
  es.addEventListener("alert", function (e) {
    const a = JSON.parse(e.data);
    announce("Alert: " + a.title + " on " + a.deviceName + " (" + (STATUS[a.status] || a.status) + ", " + hits(a.hitCount) + ")");
    const body = document.getElementById("alerts-body");
    if (!body) return;
    const oldLink = body.querySelector('a[data-alert-link="' + CSS.escape(a.id) + '"]');
    const old = oldLink ? oldLink.closest("tr") : null;
    const tr = document.createElement("tr");
    tr.setAttribute("data-alert", a.id);
    tr.className = "fresh";
    const first = document.createElement("td");
    const link = document.createElement("a");
    link.href = "/alerts/" + encodeURIComponent(a.id);
    link.textContent = a.title;
    link.setAttribute("data-alert-link", a.id);
    first.appendChild(link);
    tr.appendChild(first);
    const sev = document.createElement("td");
    const badge = document.createElement("span");
    badge.className = "badge sev-" + a.severity.toLowerCase();
    badge.textContent = a.severity;
    sev.appendChild(badge);
    tr.appendChild(sev);
    for (const t of [STATUS[a.status] || a.status, a.deviceName + " (" + a.deviceId + ")", a.indicatorValue, String(a.hitCount), a.outcomes.join(", "), a.lastSeen]) {
      tr.appendChild(cell(t));
    }
    // A new alert belongs on top of the first page in the newest-first order only; a sorted
    // or later page shows it when reloaded.
    const query = new URLSearchParams(location.search);
    const newestFirst = !query.get("sort") && (query.get("page") || "1") === "1";
    if (old) old.replaceWith(tr); else if (newestFirst) body.prepend(tr); else return;
    const empty = document.querySelector(".empty");
    if (empty) empty.remove();
  });
  // Sections that follow the stream as a whole: re-read at most once a second.
  const refreshing = document.querySelectorAll("[data-refresh]");
  let refreshTimer = null;
  function refresh() {
    if (refreshTimer) return;
    refreshTimer = setTimeout(function () {
      refreshTimer = null;
      fetch(location.href, { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (text) {
          if (!text) return;
          const fresh = new DOMParser().parseFromString(text, "text/html");
          for (const old of document.querySelectorAll("[data-refresh]")) {
            const found = fresh.getElementById(old.id);
            if (!found) continue;
            const next = document.importNode(found, true);
            // Keep what the reader opened and where the keyboard was.
            const opened = [...old.querySelectorAll("details")].map(function (d) { return d.open; });
            next.querySelectorAll("details").forEach(function (d, i) { if (opened[i]) d.open = true; });
            const focused = old.contains(document.activeElement) ? document.activeElement.getAttribute("href") : null;
            old.replaceWith(next);
            if (focused) {
              const again = [...next.querySelectorAll("a[href]")].find(function (a) { return a.getAttribute("href") === focused; });
              if (again) again.focus();
            }
          }
        })
        .catch(function () {});
    }, 1000);
  }
  for (const name of ["events", "alert", "machines"]) {
    es.addEventListener(name, function () {
      for (const el of refreshing) {
        if (el.getAttribute("data-refresh").split(" ").includes(name)) { refresh(); return; }
      }
    });
  }
  es.addEventListener("resync", function () {
    announce("Some live updates were missed; reload the page to see everything.");
  });
})();
