// The presentation request page: asks the service for the request's state every two seconds
// and shows the verdict, each check in plain words (in the viewer's language: the words come
// with the state), once the wallet has answered.
"use strict";
(function () {
  const root = document.getElementById("request");
  if (!root) return;
  const marks = { ok: "\u2713", failed: "\u2717" };

  function show(id, visible) {
    document.getElementById(id).hidden = !visible;
  }

  function render(body) {
    root.dataset.state = body.state;
    show("ask", body.state === "pending");
    show("expired", body.state === "expired");
    show("verdict", body.state === "answered");
    show("checks-section", body.state === "answered");
    if (body.state !== "answered") return;
    const verdict = document.getElementById("verdict");
    verdict.dataset.verified = String(body.verified === true);
    verdict.className = "verdict " + (body.verified ? "ok" : "refused");
    document.getElementById("verdict-text").textContent = body.verdictText;
    const list = document.getElementById("checks");
    list.replaceChildren();
    for (const check of body.checks) {
      const item = document.createElement("li");
      item.className = "check " + check.state;
      item.dataset.check = check.key;
      item.dataset.state = check.state;
      const mark = document.createElement("span");
      mark.className = "mark";
      mark.setAttribute("aria-hidden", "true");
      mark.textContent = marks[check.state] || "\u2013";
      const name = document.createElement("span");
      name.className = "name";
      name.textContent = check.text;
      const state = document.createElement("span");
      state.className = "state";
      state.textContent = check.stateText;
      item.append(mark, name, ": ", state);
      list.append(item);
    }
  }

  async function poll() {
    try {
      const response = await fetch(root.dataset.stateUrl, { cache: "no-store" });
      if (response.ok) {
        const body = await response.json();
        render(body);
        if (body.state !== "pending") return;
      }
    } catch (error) {
      // the network may come back: keep asking
    }
    setTimeout(poll, 2000);
  }

  if (root.dataset.state === "pending") setTimeout(poll, 1000);
})();
