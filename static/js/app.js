import { registerServiceWorker } from "./pwa.js";

// Progressive enhancement for every page; pages work without it.
// A button with data-confirm asks before it submits (disabling a user or a site).
document.addEventListener("submit", (event) => {
  const button = event.submitter;
  const question = button && button.dataset.confirm;
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});

document.addEventListener("click", (event) => {
  if (event.target && event.target.id === "update-reload") window.location.reload();
});
registerServiceWorker(() => {
  const banner = document.getElementById("update");
  if (banner) banner.hidden = false;
});
