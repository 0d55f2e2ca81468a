// Every page registers the service worker (the scanner works offline once a page has been opened
// online); when a new version takes over, the page offers a reload instead of changing under a person.
export function registerServiceWorker(onUpdate) {
  if (!("serviceWorker" in navigator)) return;
  const hadController = Boolean(navigator.serviceWorker.controller);
  navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch((error) => console.warn("service worker", error));
  navigator.serviceWorker.addEventListener("controllerchange", () => {
    if (hadController && onUpdate) onUpdate();
  });
}
