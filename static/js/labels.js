// Follows a label print job: polls its status and reloads the page once it has finished.
(() => {
  const card = document.getElementById("label-job");
  if (!card || card.dataset.state === "done" || card.dataset.state === "failed") {
    return;
  }
  const progress = document.getElementById("job-progress");
  const poll = async () => {
    try {
      const response = await fetch(card.dataset.statusUrl, { headers: { Accept: "application/json" } });
      if (response.ok) {
        const job = await response.json();
        progress.value = job.percent;
        progress.textContent = `${job.percent}%`;
        if (job.state === "done" || job.state === "failed") {
          window.location.reload();
          return;
        }
      }
    } catch (error) {
      // offline for a moment: try again on the next tick
    }
    window.setTimeout(poll, 1500);
  };
  window.setTimeout(poll, 1500);
})();
