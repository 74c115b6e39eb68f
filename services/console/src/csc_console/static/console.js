// The console's own script: live countdowns, new-row notices, one submit per form.
(function () {
  "use strict";
  var words = {};
  try { words = JSON.parse(document.getElementById("console-words").textContent); } catch (e) {}
  function fill(pattern, values) {
    return String(pattern).replace(/\{(\w+)\}/g, function (_, k) { return values[k]; });
  }
  function duration(ms) {
    var minutes = Math.floor(Math.abs(ms) / 60000);
    var d = Math.floor(minutes / 1440), h = Math.floor((minutes % 1440) / 60), m = minutes % 60;
    if (d) return fill(words.days, { d: d, h: h });
    if (h) return fill(words.hours, { h: h, m: m });
    if (m) return fill(words.minutes, { m: m });
    return words.under_minute;
  }
  // Every running clock counts down: text and state change as time passes, colour follows.
  function tick() {
    var now = Date.now();
    document.querySelectorAll(".badge[data-due]").forEach(function (badge) {
      var left = Date.parse(badge.getAttribute("data-due")) - now;
      var text = badge.querySelector(".badge-text");
      if (left <= 0) {
        text.textContent = fill(words.overdue_by, { d: duration(left) });
        if (badge.getAttribute("data-state") !== "breached") {
          badge.setAttribute("data-state", "breached");
          badge.className = "badge badge-breached";
          badge.querySelector(".icon").textContent = "\u2716"; // ✖, as display.ICONS
        }
      } else {
        text.textContent = fill(words.due_in, { d: duration(left) });
      }
    });
  }
  setInterval(tick, 1000);
  document.addEventListener("DOMContentLoaded", tick);

  // The viewer's own time zone, told at sign-in.
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("input.viewer-tz").forEach(function (tz) {
      try { tz.value = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) {}
    });
  });

  // A live region refreshed by a push: mark rows that are new or changed, and say so once.
  var before = {};
  function rowsOf(el) {
    var seen = {};
    el.querySelectorAll("tr[data-case]").forEach(function (tr) { seen[tr.id] = tr.textContent; });
    return seen;
  }
  document.addEventListener("htmx:beforeSwap", function (ev) { before = rowsOf(ev.detail.target); });
  document.addEventListener("htmx:afterSwap", function (ev) {
    var changed = 0;
    ev.detail.target.querySelectorAll("tr[data-case]").forEach(function (tr) {
      if (before[tr.id] !== tr.textContent) { tr.classList.add("fresh"); changed++; }
    });
    var status = document.getElementById("live-status");
    if (status && changed) status.textContent = fill(words.new_rows, { n: changed });
    tick();
  });

  // A push does not move rows under the reader's pointer or focus: the change waits
  // behind a notice ("updated by someone else · refresh") until the reader takes it.
  var held = null;
  function busy(el) {
    var focused = document.activeElement;
    return el.matches(":hover") || (!!focused && focused !== document.body && el.contains(focused));
  }
  document.addEventListener("htmx:confirm", function (ev) {
    var elt = ev.detail.elt, trigger = ev.detail.triggeringEvent;
    if (!elt.hasAttribute("data-hold-while-busy") || !trigger) return;
    if (String(trigger.type).indexOf("sse:") !== 0 || !busy(elt)) return;
    ev.preventDefault();
    held = ev.detail;
    var notice = document.getElementById("live-held");
    if (notice) notice.hidden = false;
  });
  document.addEventListener("click", function (ev) {
    if (!ev.target.closest || !ev.target.closest("#live-refresh")) return;
    var pending = held;
    held = null;
    document.getElementById("live-held").hidden = true;
    if (pending) pending.issueRequest(true);
  });

  // A page of forms (a return, a CAPA): a change by someone else shows its notice in
  // place of a swap; the page is read again when the reader asks.
  document.addEventListener("htmx:sseBeforeMessage", function (ev) {
    var notice = ev.target;
    if (!notice.hasAttribute || !notice.hasAttribute("data-live-notice")) return;
    ev.preventDefault();
    notice.hidden = false;
  });
  document.addEventListener("click", function (ev) {
    if (ev.target.closest && ev.target.closest("[data-live-reload]")) window.location.reload();
  });

  // A second click while a form is on its way is not sent again (the services also record
  // a repeated Idempotency-Key once).
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (!form.hasAttribute("data-once")) return;
    if (form.getAttribute("data-sent")) { ev.preventDefault(); return; }
    form.setAttribute("data-sent", "1");
    form.querySelectorAll("button[type=submit]").forEach(function (b) { b.setAttribute("aria-disabled", "true"); });
  });
})();
