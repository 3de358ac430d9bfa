// Running totals on the group entry screen: each row's sum as the clerk types (full-width digits
// typed with a Chinese input method count too). The server checks every cell again on saving.
(function () {
  "use strict";
  function value(text) {
    var plain = text.replace(/[\uFF10-\uFF19\uFF0E]/g, function (ch) { return String.fromCharCode(ch.charCodeAt(0) - 0xFEE0); }).trim();
    return /^\d{1,3}(\.\d)?$/.test(plain) ? Math.round(parseFloat(plain) * 10) : null;
  }
  document.querySelectorAll("table.entry-grid tbody tr").forEach(function (row) {
    var inputs = row.querySelectorAll("input.score-cell");
    var out = row.querySelector("output.row-total");
    if (!out) { return; }
    function update() {
      var sum = 0, filled = 0;
      inputs.forEach(function (input) { var v = value(input.value); if (v !== null) { sum += v; filled += 1; } });
      out.textContent = filled ? (sum / 10).toFixed(1) + (filled < inputs.length ? "（" + filled + "/" + inputs.length + "项）" : "") : "";
    }
    inputs.forEach(function (input) { input.addEventListener("input", update); });
    update();
  });
})();
