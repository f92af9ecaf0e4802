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
  // Preset the channel a type implies (FMS and EXV are on site), only while none is chosen.
  var channel = document.getElementById("channel");
  if (type && channel && type.dataset.impliedChannels) {
    var implied = JSON.parse(type.dataset.impliedChannels);
    var presetByType = false;
    type.addEventListener("change", function () {
      if (channel.value === "" || presetByType) {
        channel.value = implied[type.value] || "";
        presetByType = channel.value !== "";
      }
    });
    channel.addEventListener("change", function () { presetByType = false; });
  }
  // Ask before a destructive submit (quarter close, token revoke).
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) { event.preventDefault(); }
    });
  });
})();
