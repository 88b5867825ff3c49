// Behaviour every page shares: copy buttons. Loaded with defer; no inline
// script is allowed by the Content-Security-Policy.
(function () {
  "use strict";

  function fallbackCopy(text) {
    const area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }

  document.addEventListener("click", function (event) {
    const button = event.target.closest("[data-copy]");
    if (!button) return;
    const text = button.getAttribute("data-copy");
    const done = function () {
      const label = button.textContent;
      button.textContent = "Copied";
      button.setAttribute("aria-live", "polite");
      setTimeout(function () { button.textContent = label; }, 1500);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () { fallbackCopy(text); done(); });
    } else {
      fallbackCopy(text);
      done();
    }
  });

  // Filters that apply as soon as they change (the list's project filter).
  document.addEventListener("change", function (event) {
    const field = event.target.closest("[data-submit-on-change]");
    if (field && field.form) field.form.requestSubmit();
  });

  // A scope preset ticks its scopes, so the grid shows what the token
  // gets; ticking a scope by hand switches to "choose the scopes".
  function applyPreset(radio) {
    const preset = radio.closest(".preset");
    const hint = preset && preset.querySelector("[data-preset-scopes]");
    if (!hint) return;
    const wanted = hint.getAttribute("data-preset-scopes").split(" ");
    radio.form.querySelectorAll("input[name=scopes]").forEach(function (box) {
      box.checked = wanted.indexOf(box.value) !== -1;
    });
  }

  document.addEventListener("change", function (event) {
    const input = event.target;
    if (!input.form) return;
    if (input.name === "preset") applyPreset(input);
    if (input.name === "scopes") {
      const custom = input.form.querySelector("input[name=preset][value=custom]");
      if (custom) custom.checked = true;
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    const chosen = document.querySelector("input[name=preset]:checked");
    if (chosen && chosen.form) applyPreset(chosen);
  });
})();
