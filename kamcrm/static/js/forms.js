// Small progressive enhancements; every form works without them.
(function () {
  "use strict";
  // Show the executive role field only for an executive visit (EXV).
  var type = document.getElementById("type");
  var execRole = document.getElementById("exec-role-field");
  if (type && execRole) {
    var sync = function () { execRole.hidden = type.value !== "EXV"; };
    type.addEventListener("change", sync);
    sync();
  }
  // Ask before a destructive submit (quarter close, token revoke).
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) { event.preventDefault(); }
    });
  });
})();
