// Fill an account field's <datalist> from the server while the user types (number or name).
// Without this script the field still works: the server resolves the typed number or name.
(function () {
  "use strict";
  function attach(input) {
    var list = document.getElementById(input.getAttribute("list"));
    var url = input.getAttribute("data-search-url");
    if (!list || !url) { return; }
    var timer = null;
    var last = "";
    input.addEventListener("input", function () {
      var query = input.value.trim();
      if (query.length < 2 || query === last) { return; }
      window.clearTimeout(timer);
      timer = window.setTimeout(function () {
        last = query;
        fetch(url + "?q=" + encodeURIComponent(query), {
          headers: { "Accept": "application/json" },
          credentials: "same-origin"
        }).then(function (response) {
          return response.ok ? response.json() : { results: [] };
        }).then(function (data) {
          while (list.firstChild) { list.removeChild(list.firstChild); }
          (data.results || []).forEach(function (account) {
            var option = document.createElement("option");
            option.value = account.account_no;
            option.label = account.account_no + " " + account.name;
            option.textContent = account.name;
            list.appendChild(option);
          });
        }).catch(function () { /* keep what the user typed; the server resolves it */ });
      }, 200);
    });
  }
  document.querySelectorAll("input[data-search-url]").forEach(attach);
})();
