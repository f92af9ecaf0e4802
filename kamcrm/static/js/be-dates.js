// Buddhist-era dates on Thai pages. base.html loads this script only on Thai pages, with the
// texts and year bounds in <body data-be-dates>. Each <input type="date"> becomes a text field
// that shows and accepts day/month/BE year (3/12/2569, BE = CE + 543); a hidden input beside
// it carries the field's name and the ISO date (2026-12-03) the server and the URLs use.
// The visible field keeps its id, so its <label>, hint and server error stay attached.
// Without this script the plain date input works as before; the server bounds the years.
(function () {
  "use strict";
  var config = document.body.getAttribute("data-be-dates");
  if (!config) { return; }
  var text = JSON.parse(config);
  var OFFSET = text.offset;

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  function toIso(year, month, day) { return year + "-" + pad(month) + "-" + pad(day); }

  function isRealDate(year, month, day) {
    var d = new Date(Date.UTC(year, month - 1, day));
    return d.getUTCFullYear() === year && d.getUTCMonth() === month - 1 && d.getUTCDate() === day;
  }

  function isoToBe(iso) {
    var m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso || "");
    if (!m) { return ""; }
    return Number(m[3]) + "/" + Number(m[2]) + "/" + (Number(m[1]) + OFFSET);
  }

  // Read what the user typed: {iso} for a date, {error} for a refusal, {} for an empty field.
  // d/m/BBBB (also with - or . between) is the form; an ISO date pasted from a URL is read as CE.
  function read(value) {
    var typed = value.trim();
    if (!typed) { return {}; }
    var year, month, day, m;
    if ((m = /^(\d{4})-(\d{1,2})-(\d{1,2})$/.exec(typed))) {
      year = Number(m[1]); month = Number(m[2]); day = Number(m[3]);
    } else if ((m = /^(\d{1,2})\s*[\/.\-]\s*(\d{1,2})\s*[\/.\-]\s*(\d{4})$/.exec(typed))) {
      day = Number(m[1]); month = Number(m[2]);
      var be = Number(m[3]);
      year = be - OFFSET;
      if (year < text.first && be >= text.first && be <= text.last) {
        return { error: text.ce_year.replace("{typed}", be).replace("{be}", be + OFFSET) };
      }
    } else {
      return { error: text.invalid };
    }
    if (year < text.first || year > text.last) { return { error: text.range }; }
    if (!isRealDate(year, month, day)) { return { error: text.invalid }; }
    return { iso: toIso(year, month, day) };
  }

  function shift(iso, days, months) {
    var m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso);
    var d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1 + months, Number(m[3]) + days));
    if (d.getUTCFullYear() < text.first || d.getUTCFullYear() > text.last) { return iso; }
    return toIso(d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate());
  }

  function enhance(input, index) {
    var id = input.id || "be-date-" + index;
    input.id = id;
    var carrier = document.createElement("input");
    carrier.type = "hidden";
    carrier.name = input.name;
    carrier.value = input.value;
    input.removeAttribute("name");
    input.type = "text";
    input.inputMode = "numeric";
    input.autocomplete = "off";
    input.classList.add("be-date");
    input.value = isoToBe(carrier.value);
    input.insertAdjacentElement("afterend", carrier);

    var hint = document.createElement("span");
    hint.className = "hint be-date-hint";
    hint.id = id + "-be-hint";
    hint.textContent = text.hint;
    // An alert, so that a refusal is read out as soon as it appears.
    var error = document.createElement("p");
    error.className = "error-message be-date-error";
    error.id = id + "-be-error";
    error.setAttribute("role", "alert");
    error.hidden = true;
    // After the field, not between it and its label: side-by-side fields stay level.
    carrier.insertAdjacentElement("afterend", hint);
    hint.insertAdjacentElement("afterend", error);

    var described = (input.getAttribute("aria-describedby") || "").split(/\s+/).filter(Boolean);
    described.unshift(hint.id);
    described.push(error.id);
    input.setAttribute("aria-describedby", described.join(" "));
    var serverInvalid = input.getAttribute("aria-invalid");

    function showError(message) {
      error.textContent = message || "";
      error.hidden = !message;
      if (message) {
        input.setAttribute("aria-invalid", "true");
      } else if (serverInvalid) {
        input.setAttribute("aria-invalid", serverInvalid);
      } else {
        input.removeAttribute("aria-invalid");
      }
    }

    // Follow every keystroke quietly; speak up only when the user leaves the field or submits.
    input.addEventListener("input", function () {
      var result = read(input.value);
      carrier.value = result.iso || "";
      if (!result.error) { showError(""); }
    });
    input.addEventListener("change", function () {
      var result = read(input.value);
      carrier.value = result.iso || "";
      showError(result.error);
      if (result.iso) { input.value = isoToBe(result.iso); }
    });
    // Arrow keys step a day, Page Up/Down a month, as in the browser's own date field.
    input.addEventListener("keydown", function (event) {
      var steps = { ArrowUp: [1, 0], ArrowDown: [-1, 0], PageUp: [0, 1], PageDown: [0, -1] }[event.key];
      var result = read(input.value);
      if (!steps || !result.iso || event.altKey || event.ctrlKey || event.metaKey) { return; }
      event.preventDefault();
      carrier.value = shift(result.iso, steps[0], steps[1]);
      input.value = isoToBe(carrier.value);
      showError("");
    });
    if (input.form) {
      input.form.addEventListener("submit", function (event) {
        var result = read(input.value);
        carrier.value = result.iso || "";
        if (result.error) {
          event.preventDefault();
          showError(result.error);
          input.focus();
        }
      });
    }
  }

  Array.prototype.forEach.call(document.querySelectorAll("input[type=date][name]"), enhance);
})();
