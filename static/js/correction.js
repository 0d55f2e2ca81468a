// The trace page's correction request: a reason is required (at least 5 characters) before it is sent.
// The server checks the same (custody/corrections.py); this only says so at once, in the page's language.
const MIN = 5;

function t(key) {
  const item = document.querySelector(`#i18n [data-k="${key}"]`);
  return item ? item.textContent : key;
}

document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!form.classList || !form.classList.contains("correction-form")) return;
  const reason = form.querySelector("textarea[name=reason]");
  const error = form.querySelector(".field-error");
  if (reason.value.trim().length >= MIN) {
    error.hidden = true;
    return;
  }
  event.preventDefault();
  error.textContent = t("reason_short");
  error.hidden = false;
  reason.setAttribute("aria-invalid", "true");
  reason.focus();
});
