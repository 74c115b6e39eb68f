// The CAPA page's enhancements; every form works without them.
(function () {
  "use strict";
  // D1: which of the departments the team needs (4.4.4) the form has so far.
  function teamCheck(form) {
    var words = {};
    try { words = JSON.parse(document.getElementById("team-words").textContent); } catch (e) {}
    function update() {
      var chosen = {};
      form.querySelectorAll("select[name$=_department]").forEach(function (s) { chosen[s.value] = true; });
      form.querySelectorAll(".team-check li").forEach(function (li) {
        var present = !!chosen[li.getAttribute("data-department")];
        li.classList.toggle("present", present);
        li.querySelector(".mark").textContent = present ? "\u2713" : "\u25cb";
        li.querySelector(".state").textContent = present ? words.present : words.missing;
      });
    }
    form.addEventListener("change", update);
    update();
  }
  // Evidence: a file dropped on the form, sent with its progress shown (4.4.3).
  function upload(form) {
    var zone = form.querySelector("[data-drop]"), input = form.querySelector("input[type=file]");
    var bar = form.querySelector(".upload-progress"), status = form.querySelector(".upload-status");
    ["dragenter", "dragover"].forEach(function (type) {
      zone.addEventListener(type, function (e) { e.preventDefault(); zone.classList.add("over"); });
    });
    ["dragleave", "drop"].forEach(function (type) {
      zone.addEventListener(type, function () { zone.classList.remove("over"); });
    });
    zone.addEventListener("drop", function (e) {
      e.preventDefault();
      if (e.dataTransfer && e.dataTransfer.files.length) { input.files = e.dataTransfer.files; }
    });
    form.addEventListener("submit", function (e) {
      if (!window.XMLHttpRequest || !input.files.length) return; // the form posts itself
      e.preventDefault();
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      xhr.setRequestHeader("X-Requested-With", "fetch");
      bar.hidden = false;
      xhr.upload.addEventListener("progress", function (p) {
        if (p.lengthComputable) { bar.value = Math.round((p.loaded / p.total) * 100); }
      });
      xhr.addEventListener("load", function () {
        if (xhr.status === 204) { window.location.reload(); return; }
        // A refusal: the page as the console rendered it, with the reason at the form.
        document.open(); document.write(xhr.responseText); document.close();
      });
      xhr.addEventListener("error", function () { form.submit(); });
      xhr.send(new FormData(form));
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-team]").forEach(teamCheck);
    document.querySelectorAll("form[data-upload]").forEach(upload);
  });
})();
