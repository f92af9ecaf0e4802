// The header's menu on a phone: the user's links, the language switch and the page navigation
// fold behind one "Menu" button (aria-expanded). The CSS shows the button only on narrow
// screens; without this script the button stays hidden and everything stays unfolded.
(function () {
  "use strict";
  var header = document.querySelector(".site-header[data-menu]");
  var button = header && header.querySelector(".menu-toggle");
  if (!button) { return; }

  function setOpen(open) {
    button.setAttribute("aria-expanded", open ? "true" : "false");
    header.classList.toggle("menu-open", open);
  }

  header.classList.add("menu-folds");
  button.hidden = false;
  setOpen(false);
  button.addEventListener("click", function () {
    setOpen(button.getAttribute("aria-expanded") !== "true");
  });
  // Escape folds an open menu and gives the focus back to its button.
  header.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && button.getAttribute("aria-expanded") === "true" &&
        button.offsetParent !== null) {
      setOpen(false);
      button.focus();
    }
  });
})();
