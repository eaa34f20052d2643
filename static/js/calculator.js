/* Progressive enhancement of the calculator: live results, draggable nomogram, copy summary,
   postMessage to the embedding page.  The server renders every number; this script only asks
   for the fragment and moves markers. No external requests, no inline code. */
(function () {
  "use strict";
  var form = document.getElementById("calculator-form");
  if (!form) { return; }
  var base = document.body.getAttribute("data-base") || "";
  var modelBase = document.body.getAttribute("data-model-base") || base;
  var origins = (document.body.getAttribute("data-post-message-origins") || "").split(/\s+/).filter(Boolean);
  var pending = null, inflight = null, sequence = 0, touched = {};

  function field(name) { return form.elements[name]; }

  function setValue(name, value) {
    var el = field(name);
    if (name === "ki67_percent") {
      var unknown = document.getElementById("ki67_unknown");
      if (unknown) { unknown.checked = false; }
      el.disabled = false;
      el.value = String(value);
    } else {
      var want = String(value);
      Array.prototype.forEach.call(form.querySelectorAll('input[name="' + name + '"]'), function (radio) {
        radio.checked = radio.value === want;
      });
    }
  }

  function schedule(delay) {
    if (pending) { clearTimeout(pending); }
    pending = setTimeout(update, delay);
  }

  function update() {
    pending = null;
    var mine = ++sequence;
    var body = new URLSearchParams(new FormData(form));
    body.set("touched", Object.keys(touched).join(","));
    if (inflight && inflight.abort) { inflight.abort(); }
    inflight = typeof AbortController === "function" ? new AbortController() : null;
    fetch(modelBase + "/partials/result", {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      signal: inflight ? inflight.signal : undefined
    }).then(function (response) { return response.text(); }).then(function (html) {
      if (mine !== sequence) { return; }
      apply(new DOMParser().parseFromString(html, "text/html"));
    }).catch(function () { /* aborted or offline: the submit button still works */ });
  }

  function apply(doc) {
    var focused = document.activeElement;
    var focusedAxis = focused && focused.closest ? focused.closest(".predictor-axis") : null;
    var focusedName = focusedAxis ? focusedAxis.getAttribute("data-name") : null;
    var result = document.getElementById("result");
    result.innerHTML = doc.getElementById("live-result").innerHTML;
    var figure = document.getElementById("nomogram-figure");
    figure.innerHTML = doc.getElementById("live-nomogram").innerHTML;
    var errors = {};
    Array.prototype.forEach.call(doc.querySelectorAll("#live-errors li"), function (li) {
      errors[li.getAttribute("data-field")] = li.textContent;
    });
    Array.prototype.forEach.call(form.querySelectorAll(".error[data-field]"), function (p) {
      var name = p.getAttribute("data-field");
      p.textContent = errors[name] || "";
      var wrapper = p.closest(".field");
      if (wrapper) { wrapper.classList.toggle("invalid", Boolean(errors[name])); }
    });
    var ki = field("ki67_percent");
    if (errors.ki67_percent) { ki.setAttribute("aria-invalid", "true"); } else { ki.removeAttribute("aria-invalid"); }
    bindResult();
    bindNomogram();
    if (focusedName) {
      var marker = figure.querySelector('.predictor-axis[data-name="' + focusedName + '"] .marker');
      if (marker) { marker.focus(); }
    }
  }

  /* ---- nomogram: click, drag and keyboard ---- */
  function axisInfo(group) {
    return {
      name: group.getAttribute("data-name"), kind: group.getAttribute("data-kind"),
      lo: parseFloat(group.getAttribute("data-lo")), hi: parseFloat(group.getAttribute("data-hi")),
      pxLo: parseFloat(group.getAttribute("data-px-lo")), pxHi: parseFloat(group.getAttribute("data-px-hi"))
    };
  }

  function svgX(svg, clientX, clientY) {
    var point = svg.createSVGPoint();
    point.x = clientX; point.y = clientY;
    return point.matrixTransform(svg.getScreenCTM().inverse()).x;
  }

  function valueAt(info, x) {
    var share = (x - info.pxLo) / (info.pxHi - info.pxLo);
    share = Math.min(1, Math.max(0, share));
    if (info.kind === "binary") { return share >= 0.5 ? info.hi : info.lo; }
    return Math.round((info.lo + share * (info.hi - info.lo)) * 10) / 10;
  }

  function moveMarker(group, info, value) {
    var marker = group.querySelector(".marker");
    if (!marker) { return; }
    var share = (Math.min(info.hi, Math.max(info.lo, value)) - info.lo) / (info.hi - info.lo);
    marker.setAttribute("cx", String(info.pxLo + share * (info.pxHi - info.pxLo)));
    marker.setAttribute("aria-valuenow", String(value));
  }

  function choose(group, value, delay) {
    var info = axisInfo(group);
    touched[info.name] = true;
    setValue(info.name, info.kind === "binary" ? (value >= 0.5 ? 1 : 0) : value);
    moveMarker(group, info, value);
    schedule(delay);
  }

  function currentValue(info) {
    if (info.kind === "binary") {
      var checked = form.querySelector('input[name="' + info.name + '"]:checked');
      return checked && checked.value !== "unknown" ? parseFloat(checked.value) : null;
    }
    var v = parseFloat(String(field(info.name).value).replace(",", "."));
    return isNaN(v) ? null : v;
  }

  function bindNomogram() {
    var svg = document.querySelector("#nomogram-figure svg");
    if (!svg) { return; }
    Array.prototype.forEach.call(svg.querySelectorAll(".predictor-axis"), function (group) {
      var dragging = false;
      group.addEventListener("pointerdown", function (event) {
        dragging = true;
        if (group.setPointerCapture) { group.setPointerCapture(event.pointerId); }
        choose(group, valueAt(axisInfo(group), svgX(svg, event.clientX, event.clientY)), 120);
        event.preventDefault();
      });
      group.addEventListener("pointermove", function (event) {
        if (!dragging) { return; }
        choose(group, valueAt(axisInfo(group), svgX(svg, event.clientX, event.clientY)), 120);
      });
      function stop() { dragging = false; }
      group.addEventListener("pointerup", stop);
      group.addEventListener("pointercancel", stop);
      var marker = group.querySelector(".marker");
      if (marker) {
        marker.addEventListener("keydown", function (event) {
          var info = axisInfo(group);
          var value = currentValue(info);
          if (value === null) { value = info.lo; }
          var step = info.kind === "binary" ? 1 : (event.shiftKey ? 5 : 0.5);
          var next = null;
          if (event.key === "ArrowRight" || event.key === "ArrowUp") { next = value + step; }
          else if (event.key === "ArrowLeft" || event.key === "ArrowDown") { next = value - step; }
          else if (event.key === "Home") { next = info.lo; }
          else if (event.key === "End") { next = info.hi; }
          else if ((event.key === " " || event.key === "Enter") && info.kind === "binary") { next = value >= 0.5 ? 0 : 1; }
          if (next === null) { return; }
          event.preventDefault();
          next = Math.min(info.hi, Math.max(info.lo, Math.round(next * 10) / 10));
          choose(group, next, 60);
        });
      }
    });
  }

  /* ---- copy summary and postMessage ---- */
  function bindResult() {
    var button = document.getElementById("copy-summary");
    var textEl = document.getElementById("summary-text");
    var status = document.getElementById("copy-status");
    if (button && textEl) {
      button.hidden = false;
      button.addEventListener("click", function () {
        var text = textEl.textContent.trim();
        var done = function () { status.textContent = button.getAttribute("data-copied"); };
        var fail = function () { status.textContent = button.getAttribute("data-failed"); };
        if (navigator.clipboard && window.isSecureContext) {
          navigator.clipboard.writeText(text).then(done, fail);
        } else {
          var area = document.createElement("textarea");
          area.value = text; area.setAttribute("readonly", ""); area.className = "visually-hidden";
          document.body.appendChild(area); area.select();
          try { (document.execCommand("copy") ? done : fail)(); } catch (e) { fail(); }
          document.body.removeChild(area);
        }
      });
    }
    var data = document.getElementById("result-data");
    if (data && origins.length && window.parent !== window) {
      var message = {
        type: "rnet-risk",
        probability: data.hasAttribute("data-probability") ? parseFloat(data.getAttribute("data-probability")) : null,
        ci95: data.hasAttribute("data-ci-lo") ? [parseFloat(data.getAttribute("data-ci-lo")), parseFloat(data.getAttribute("data-ci-hi"))] : null,
        missing: (data.getAttribute("data-missing") || "").split(" ").filter(Boolean),
        model: { id: data.getAttribute("data-model-id"), sha256: data.getAttribute("data-sha256"), source: data.getAttribute("data-source") }
      };
      origins.forEach(function (origin) { window.parent.postMessage(message, origin); });
    }
  }

  var unknown = document.getElementById("ki67_unknown");
  if (unknown) {
    /* Disabled only with JavaScript: without it, unticking must leave the box usable. */
    field("ki67_percent").disabled = unknown.checked;
    unknown.addEventListener("change", function () { field("ki67_percent").disabled = unknown.checked; });
  }
  function touch(event) {
    var name = event.target.name === "ki67_unknown" ? "ki67_percent" : event.target.name;
    if (name) { touched[name] = true; }
  }
  form.addEventListener("input", function (event) { touch(event); schedule(event.target.type === "text" ? 250 : 0); });
  form.addEventListener("change", function (event) { touch(event); schedule(0); });
  bindResult();
  bindNomogram();
}());
