/* Example host for the R-NET calculator's embedding protocol (README, "Embedding").
   Accept messages only from the calculator's origin; send findings only to it. */
(function () {
  "use strict";
  var params = new URLSearchParams(location.search);
  var src = params.get("calculator") || "/embed";
  var frame = document.getElementById("calculator");
  var calculatorOrigin = new URL(src, location.href).origin;
  var log = document.getElementById("log");
  var received = [];
  frame.src = src;

  function show(text) { log.textContent = text + "\n" + log.textContent; }
  function percent(p) { return p === null ? "—" : (100 * p).toFixed(1) + " %"; }

  window.addEventListener("message", function (event) {
    if (event.origin !== calculatorOrigin || event.source !== frame.contentWindow) { return; }
    var message = event.data || {};
    received.push(message);
    show(JSON.stringify(message));
    if (message.type === "rnet:resize") { frame.style.height = message.height + "px"; }
    if (message.type === "rnet:result") {
      document.getElementById("risk").textContent = message.applicable
        ? percent(message.probability) + " (95 % CI " + percent(message.ci95[0]) + "–" + percent(message.ci95[1]) + ")"
        : "not applicable: " + (message.notice || "");
    }
    /* Findings no longer valid or cleared: never keep showing the old risk. */
    if (message.type === "rnet:invalid" || message.type === "rnet:cleared") {
      document.getElementById("risk").textContent = "—";
    }
  });

  function setFindings(findings) {
    frame.contentWindow.postMessage({ type: "rnet:set-findings", findings: findings }, calculatorOrigin);
  }
  document.getElementById("send").addEventListener("submit", function (event) {
    event.preventDefault();
    var form = event.target;
    var ki67 = form.elements.ki67_percent.value.trim();
    setFindings({
      surface_depression: form.elements.surface_depression.checked,
      ki67_percent: ki67 === "" ? null : Number(ki67.replace(",", ".")),
      cga_positive: JSON.parse(form.elements.cga_positive.value)
    });
  });
  window.rnetExample = { received: received, setFindings: setFindings, frame: frame };
}());
