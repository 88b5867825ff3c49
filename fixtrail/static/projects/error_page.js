// The crash-report dialog runs in an iframe on another site's page: the
// close button asks the loader script in that page to remove the dialog.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("[data-close]").forEach(function (button) {
    button.addEventListener("click", function () {
      window.parent.postMessage("fixtrail:close", "*");
    });
  });
});
