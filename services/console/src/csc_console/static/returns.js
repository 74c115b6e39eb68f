// The PNPR's review form: the decision lines' running sum against the units received
// (4.3.3). returns refuses a decision that does not add up; this says so while typing.
(function () {
  "use strict";
  function update(fieldset) {
    var received = parseInt(fieldset.getAttribute("data-received"), 10) || 0;
    var total = 0;
    fieldset.querySelectorAll("input.decision-line").forEach(function (input) {
      var n = parseInt(input.value, 10);
      if (!isNaN(n) && n > 0) total += n;
    });
    var words = {};
    try { words = JSON.parse(document.getElementById("decision-words").textContent); } catch (e) {}
    var sum = document.getElementById("decision-sum");
    var check = document.getElementById("decision-check");
    if (sum) sum.textContent = String(total);
    if (!check) return;
    var text = total === received ? words.ok
      : String(total < received ? words.short : words.over).replace("{n}", String(Math.abs(received - total)));
    check.textContent = text;
    check.setAttribute("data-state", total === received ? "ok" : "off");
  }
  document.addEventListener("input", function (ev) {
    var fieldset = ev.target.closest && ev.target.closest("fieldset.decision");
    if (fieldset) update(fieldset);
  });
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("fieldset.decision").forEach(update);
  });
})();
