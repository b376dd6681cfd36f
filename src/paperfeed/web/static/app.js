// Progressive enhancement: upvote without reloading the page. Without JavaScript the
// forms post and redirect back, which works just the same.
document.addEventListener("submit", async (event) => {
  const form = event.target.closest("form.vote");
  if (!form) return;
  event.preventDefault();
  const on = form.elements.on.value === "true";
  const response = await fetch(`/api/papers/${form.dataset.paper}/upvote`, {
    method: on ? "POST" : "DELETE",
    // a visitor's cards carry no token: the answer is a 401, and signing in comes next
    headers: { "X-CSRF-Token": form.elements.csrf_token?.value ?? "" },
    credentials: "same-origin",
  });
  if (response.status === 401) { window.location = "/login?next=" + encodeURIComponent(location.pathname); return; }
  if (!response.ok) { form.submit(); return; }
  const body = await response.json();
  form.querySelector(".count").textContent = body.upvotes;
  form.elements.on.value = on ? "false" : "true";
  form.classList.toggle("voted", on);
  form.querySelector("button").setAttribute("aria-pressed", on ? "true" : "false");
});

// Subscribe forms: the digest comes in the morning of the reader's own time zone.
for (const field of document.querySelectorAll("input[data-timezone]")) {
  field.value = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
}

// The Cite box's copy button: shown only where the page may write to the clipboard (a
// secure context); elsewhere the BibTeX is there to select.
for (const button of document.querySelectorAll("button[data-copy]")) {
  if (!navigator.clipboard) continue;
  button.hidden = false;
  button.addEventListener("click", async () => {
    await navigator.clipboard.writeText(document.getElementById(button.dataset.copy).textContent);
    button.textContent = "Copied ✓";
  });
}
