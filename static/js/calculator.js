/* Progressive enhancement of the calculator: live results, a nomogram moved by pointer, touch
   and keys, copy summary, and the embedding protocol (postMessage to RNET_FRAME_ANCESTORS only).
   The server renders every number; this script asks for the fragment, moves markers in place
   and never replaces the drawing under a finger or a pointer. No external requests, no inline code. */
(function () {
  "use strict";
  var form = document.getElementById("calculator-form");
  if (!form) { return; }
  var each = function (list, fn) { Array.prototype.forEach.call(list, fn); };
  var modelBase = document.body.getAttribute("data-model-base") || document.body.getAttribute("data-base") || "";
  var origins = (document.body.getAttribute("data-post-message-origins") || "").split(/\s+/).filter(Boolean);
  var embedded = origins.length > 0 && window.parent !== window;
  var figure = document.getElementById("nomogram-figure");
  var pending = null, inflight = null, sequence = 0, touched = {};
  var gesture = null, deferred = null, answerHost = false, lastPosted = "";
  var FIELDS = ["surface_depression", "ki67_percent", "cga_positive"];

  function field(name) { return form.elements[name]; }
  function setValue(name, value) {
    if (name === "ki67_percent") {
      var unknown = document.getElementById("ki67_unknown");
      if (unknown) { unknown.checked = value === null; }
      field(name).disabled = value === null;
      field(name).value = value === null ? "" : String(value);
    } else {
      var want = value === null ? "" : String(value);
      each(form.querySelectorAll('input[name="' + name + '"]'), function (radio) { radio.checked = radio.value === want; });
    }
  }

  /* ---- live update: post the form, apply the fragment ---- */
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
      /* A newer change is waiting: its answer will come; this one would move markers back. */
      if (mine !== sequence || pending) { return; }
      apply(new DOMParser().parseFromString(html, "text/html"));
    }).catch(function () { /* aborted or offline: the submit button still works */ });
  }
  function apply(doc) {
    document.getElementById("result").innerHTML = doc.getElementById("live-result").innerHTML;
    var bar = document.getElementById("result-bar"), newBar = doc.getElementById("live-bar");
    if (bar && newBar) { bar.innerHTML = newBar.innerHTML; bar.hidden = !newBar.textContent.trim(); }
    var errors = {};
    each(doc.querySelectorAll("#live-errors li"), function (li) { errors[li.getAttribute("data-field")] = li.textContent; });
    each(form.querySelectorAll(".error[data-field]"), function (p) {
      var name = p.getAttribute("data-field");
      p.textContent = errors[name] || "";
      var wrapper = p.closest(".field");
      if (wrapper) { wrapper.classList.toggle("invalid", Boolean(errors[name])); }
    });
    var ki = field("ki67_percent");
    if (errors.ki67_percent) { ki.setAttribute("aria-invalid", "true"); } else { ki.removeAttribute("aria-invalid"); }
    var drawing = doc.getElementById("live-nomogram");
    if (gesture && gesture.dragging) { deferred = drawing; syncMarkers(drawing); } else { setDrawing(drawing); }
    bindResult();
    announce();
    report(errors);
  }
  /* The same drawing (same model, language): update what depends on the patient, in place.
     Another drawing (a finding became unknown or known): replace it, keeping keyboard focus. */
  function setDrawing(drawing) {
    deferred = null;
    var old = figure.querySelector("svg"), next = drawing.querySelector("svg");
    if (old && next && old.getAttribute("data-geometry") === next.getAttribute("data-geometry") &&
        old.getAttribute("viewBox") === next.getAttribute("viewBox")) {
      syncMarkers(drawing);
      return;
    }
    var focused = document.activeElement && document.activeElement.closest ? document.activeElement.closest(".predictor-axis") : null;
    var name = focused ? focused.getAttribute("data-name") : null;
    figure.innerHTML = drawing.innerHTML;
    if (name) {
      var marker = visibleSvg() && visibleSvg().querySelector('.predictor-axis[data-name="' + name + '"] .marker');
      if (marker) { marker.focus(); }
    }
  }
  function syncMarkers(drawing) {
    var olds = figure.querySelectorAll("svg"), news = drawing.querySelectorAll("svg");
    each(news, function (next, i) {
      var old = olds[i];
      if (!old || old.getAttribute("data-geometry") !== next.getAttribute("data-geometry")) { return; }
      var seen = {};
      each(next.querySelectorAll("[data-k]"), function (el) {
        var key = el.getAttribute("data-k"), mine = old.querySelector('[data-k="' + key + '"]');
        seen[key] = true;
        if (!mine) {
          var parentKey = el.parentNode.getAttribute && el.parentNode.getAttribute("data-name");
          var parent = parentKey ? old.querySelector('.predictor-axis[data-name="' + parentKey + '"]') : old;
          if (parent) { parent.appendChild(document.importNode(el, true)); }
          return;
        }
        var dragged = gesture && gesture.dragging && key === "m-" + gesture.name;
        each(Array.prototype.slice.call(mine.attributes), function (a) { if (!el.hasAttribute(a.name)) { mine.removeAttribute(a.name); } });
        each(el.attributes, function (a) {
          if (dragged && (a.name === "cx" || a.name === "aria-valuenow")) { return; }  /* the pointer leads */
          if (mine.getAttribute(a.name) !== a.value) { mine.setAttribute(a.name, a.value); }
        });
        if (el.tagName.toLowerCase() === "text" && mine.textContent !== el.textContent) { mine.textContent = el.textContent; }
      });
      each(old.querySelectorAll("[data-k]"), function (el) {
        if (!seen[el.getAttribute("data-k")] && el !== document.activeElement) { el.parentNode.removeChild(el); }
      });
    });
  }
  function announce() {
    var live = document.getElementById("announce");
    var data = document.getElementById("result-data");
    var sentence = data ? data.getAttribute("data-sentence") || "" : "";
    if (live && sentence && live.textContent !== sentence) { live.textContent = sentence; }
  }

  /* ---- nomogram: pointer, touch and keys ---- */
  function visibleSvg() {
    var found = null;
    each(figure.querySelectorAll("svg"), function (svg) { if (!found && svg.getBoundingClientRect().width > 0) { found = svg; } });
    return found;
  }
  function axisInfo(group) {
    var num = function (a) { return parseFloat(group.getAttribute(a)); };
    return {
      name: group.getAttribute("data-name"), kind: group.getAttribute("data-kind"), lo: num("data-lo"), hi: num("data-hi"),
      min: num("data-min"), max: num("data-max"), pxLo: num("data-px-lo"), pxHi: num("data-px-hi")
    };
  }
  function valueAt(group, clientX, clientY) {
    var svg = group.ownerSVGElement, info = axisInfo(group), point = svg.createSVGPoint();
    point.x = clientX; point.y = clientY;
    var x = point.matrixTransform(svg.getScreenCTM().inverse()).x;
    var share = Math.min(1, Math.max(0, (x - info.pxLo) / (info.pxHi - info.pxLo)));
    if (info.kind === "binary") { return share >= 0.5 ? info.hi : info.lo; }
    return Math.round((info.lo + share * (info.hi - info.lo)) * 10) / 10;
  }
  /* Every drawing's marker for this finding moves at once, in place (the numbers follow from the server). */
  function moveMarkers(name, value) {
    each(figure.querySelectorAll('.predictor-axis[data-name="' + name + '"]'), function (group) {
      var marker = group.querySelector(".marker"), info = axisInfo(group);
      if (!marker) { return; }
      var share = (Math.min(info.hi, Math.max(info.lo, value)) - info.lo) / (info.hi - info.lo);
      marker.setAttribute("cx", String(Math.round((info.pxLo + share * (info.pxHi - info.pxLo)) * 100) / 100));
      marker.setAttribute("aria-valuenow", String(value));
    });
  }
  function choose(name, kind, value, delay) {
    touched[name] = true;
    setValue(name, kind === "binary" ? (value >= 0.5 ? 1 : 0) : value);
    moveMarkers(name, value);
    schedule(delay);
  }
  function chooseAt(event) {
    var value = valueAt(gesture.group, event.clientX, event.clientY);
    if (value !== gesture.value) { gesture.value = value; choose(gesture.name, gesture.kind, value, 150); }
  }
  function startDrag(event) {
    gesture.dragging = true;
    try { gesture.svg.setPointerCapture(gesture.id); } catch (e) { /* the pointer is already gone */ }
    chooseAt(event);
  }
  figure.addEventListener("pointerdown", function (event) {
    var group = event.target.closest ? event.target.closest(".predictor-axis") : null;
    if (!group || (event.pointerType === "mouse" && event.button !== 0)) { return; }
    if (gesture && gesture.dragging && gesture.id !== event.pointerId) { return; }  /* a second finger */
    var info = axisInfo(group);
    gesture = {
      id: event.pointerId, svg: group.ownerSVGElement, group: group, name: info.name, kind: info.kind,
      touch: event.pointerType !== "mouse", onMarker: Boolean(event.target.closest(".marker")),
      x0: event.clientX, y0: event.clientY, dragging: false, value: null
    };
    if (!gesture.touch) { event.preventDefault(); startDrag(event); }
    /* Touch: nothing changes yet. A tap sets the value on lifting, a clearly horizontal move drags,
       a vertical one is a scroll (the browser cancels the pointer). */
  });
  document.addEventListener("pointermove", function (event) {
    if (!gesture || event.pointerId !== gesture.id) { return; }
    if (!gesture.dragging) {
      var dx = Math.abs(event.clientX - gesture.x0), dy = Math.abs(event.clientY - gesture.y0);
      if (dx >= (gesture.onMarker ? 4 : 10) && dx > 2 * dy) { startDrag(event); }
      else if (dy >= 10) { gesture = null; }
      return;
    }
    chooseAt(event);
  });
  function endGesture(event, cancelled) {
    if (!gesture || event.pointerId !== gesture.id) { return; }
    var moved = Math.abs(event.clientX - gesture.x0) + Math.abs(event.clientY - gesture.y0);
    if (!cancelled && !gesture.dragging && gesture.touch && moved < 10) { chooseAt(event); }
    var wasDragging = gesture.dragging;
    gesture = null;
    if (deferred) { setDrawing(deferred); }
    if (wasDragging && pending) { schedule(0); }
  }
  document.addEventListener("pointerup", function (event) { endGesture(event, false); });
  document.addEventListener("pointercancel", function (event) { endGesture(event, true); });
  /* Capture lost without a pointerup (not the implicit touch capture handed over in startDrag). */
  figure.addEventListener("lostpointercapture", function (event) {
    if (gesture && gesture.dragging && event.target === gesture.svg) { endGesture(event, true); }
  });
  function currentValue(info) {
    if (info.kind === "binary") {
      var checked = form.querySelector('input[name="' + info.name + '"]:checked');
      return checked && checked.value !== "unknown" ? parseFloat(checked.value) : null;
    }
    var v = parseFloat(String(field(info.name).value).replace(",", "."));
    return isNaN(v) ? null : v;
  }
  figure.addEventListener("keydown", function (event) {
    var marker = event.target.closest ? event.target.closest(".marker") : null;
    var group = marker ? marker.closest(".predictor-axis") : null;
    if (!group) { return; }
    var info = axisInfo(group), value = currentValue(info), next = null;
    if (value === null) { value = info.lo; }
    var step = info.kind === "binary" ? 1 : (event.shiftKey ? 5 : 0.5);
    if (event.key === "ArrowRight" || event.key === "ArrowUp") { next = value + step; }
    else if (event.key === "ArrowLeft" || event.key === "ArrowDown") { next = value - step; }
    else if (event.key === "PageUp") { next = value + 5 * step; }
    else if (event.key === "PageDown") { next = value - 5 * step; }
    else if (event.key === "Home") { next = info.lo; }
    else if (event.key === "End") { next = info.hi; }
    else if ((event.key === " " || event.key === "Enter") && info.kind === "binary") { next = value >= 0.5 ? 0 : 1; }
    if (next === null) { return; }
    event.preventDefault();
    /* From the current value, also beyond the axis: only the finding's allowed range bounds it. */
    var lo = info.kind === "binary" ? info.lo : info.min, hi = info.kind === "binary" ? info.hi : info.max;
    choose(info.name, info.kind, Math.min(hi, Math.max(lo, Math.round(next * 10) / 10)), 80);
  });

  /* ---- copy summary ---- */
  function bindResult() {
    bindKeep();
    var button = document.getElementById("copy-summary");
    var line = document.getElementById("summary-line");
    var status = document.getElementById("copy-status");
    if (!button || !line) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      var text = line.textContent.replace(/\s+/g, " ").trim();
      var done = function () { status.textContent = button.getAttribute("data-copied"); };
      /* Refused (an iframe without allow="clipboard-write", an old browser): select the line for Ctrl+C. */
      var select = function () {
        var range = document.createRange();
        range.selectNodeContents(line);
        var selection = window.getSelection();
        selection.removeAllRanges();
        selection.addRange(range);
        status.textContent = button.getAttribute("data-select");
      };
      var legacy = function () {
        var ok = false;
        var area = document.createElement("textarea");
        area.value = text; area.setAttribute("readonly", ""); area.className = "visually-hidden";
        document.body.appendChild(area); area.select();
        try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
        document.body.removeChild(area);
        if (ok) { done(); } else { select(); }
      };
      if (navigator.clipboard && navigator.clipboard.writeText && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(done, select);
      } else { legacy(); }
    });
  }

  /* ---- scenario comparison: rows held in this page only (never stored or sent), cleared by New patient ---- */
  var kept = [];
  function bindKeep() {
    var button = document.getElementById("keep-scenario"), data = document.getElementById("result-data");
    var section = document.getElementById("scenarios");
    if (!button || !data || !section) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      var shown = data.getAttribute("data-shown").split("|");
      var row = shown.concat([data.getAttribute("data-risk-text"), data.getAttribute("data-ci-text")]);
      var key = row.join("|"), status = document.getElementById("keep-status");
      if (kept.indexOf(key) >= 0) { status.textContent = button.getAttribute("data-already"); return; }
      kept.push(key);
      var tr = document.createElement("tr");
      [String(kept.length)].concat(row).forEach(function (value, i) {
        var td = document.createElement("td");
        td.textContent = value;
        if (i === 0 || i > 3) { td.className = "num"; }
        tr.appendChild(td);
      });
      section.querySelector("tbody").appendChild(tr);
      section.hidden = false;
      status.textContent = button.getAttribute("data-kept");
    });
  }
  var newPatient = document.getElementById("new-patient");
  if (newPatient) {
    newPatient.addEventListener("click", function (event) {
      event.preventDefault();
      kept = [];
      var section = document.getElementById("scenarios");
      if (section) { section.hidden = true; section.querySelector("tbody").textContent = ""; }
      FIELDS.forEach(function (name) { setValue(name, ""); });
      var unknown = document.getElementById("ki67_unknown");
      if (unknown) { unknown.checked = false; field("ki67_percent").disabled = false; }
      touched = {};
      /* A link from the record (/embed?ki67_percent=…) must not bring the last patient back on reload. */
      if (window.history && history.replaceState) { history.replaceState(null, "", newPatient.getAttribute("href")); }
      update();
      field("surface_depression")[0].focus();
    });
  }

  /* ---- embedding protocol ---- */
  function post(message) {
    if (!embedded) { return; }
    origins.forEach(function (origin) { window.parent.postMessage(message, origin); });
  }
  function modelInfo() {
    return { id: form.getAttribute("data-model-id"), sha256: form.getAttribute("data-sha256"), source: form.getAttribute("data-source") };
  }
  function numberOrNull(el, name) {
    var v = el.getAttribute(name);
    return v === null || v === "" ? null : parseFloat(v);
  }
  function flag(el, name) {
    var v = el.getAttribute(name);
    return v === null || v === "" ? null : v === "1" || v === "true";
  }
  function resultMessage(data) {
    var lo = numberOrNull(data, "data-ci-lo"), hi = numberOrNull(data, "data-ci-hi");
    var summary = document.getElementById("summary-line"), frequency = document.querySelector("#result .frequency");
    return {
      type: "rnet:result",
      findings: {
        surface_depression: flag(data, "data-surface-depression"),
        ki67_percent: numberOrNull(data, "data-ki67-percent"),
        cga_positive: flag(data, "data-cga-positive")
      },
      probability: numberOrNull(data, "data-probability"),
      ci95: lo === null || hi === null ? null : [lo, hi],
      applicable: data.getAttribute("data-applicable") !== "false",
      extrapolation: data.getAttribute("data-extrapolation") === "true",
      notice: data.getAttribute("data-notice") || null,
      summary: summary ? summary.textContent.replace(/\s+/g, " ").trim() : null,
      interpretation: frequency ? frequency.textContent : null,
      model: modelInfo()
    };
  }
  /* After each update: the result, or why there is none; repeated states are not re-sent unless
     the host asked (set-findings is always answered). */
  function report(errors) {
    if (!embedded) { return; }
    var data = document.getElementById("result-data"), message;
    if (data) { message = resultMessage(data); }
    else if (Object.keys(errors).length) { message = { type: "rnet:invalid", errors: errors }; }
    else { message = { type: "rnet:cleared" }; }
    var key = JSON.stringify(message);
    if (key === lastPosted && !answerHost) { return; }
    if (message.type === "rnet:cleared" && !lastPosted && !answerHost) { return; }
    answerHost = false;
    lastPosted = key;
    post(message);
  }
  function boolField(value) {
    if (value === true || value === 1 || value === "1" || value === "true" || value === "yes") { return "1"; }
    if (value === false || value === 0 || value === "0" || value === "false" || value === "no") { return "0"; }
    return value === null || value === "unknown" ? "unknown" : "";
  }
  window.addEventListener("message", function (event) {
    if (!embedded || event.source !== window.parent || origins.indexOf(event.origin) < 0) { return; }
    var data = event.data;
    if (!data || data.type !== "rnet:set-findings" || !data.findings || typeof data.findings !== "object") { return; }
    /* The host sends the whole state: a finding left out is emptied, null means "not yet known". */
    var findings = data.findings, has = function (name) { return Object.prototype.hasOwnProperty.call(findings, name); };
    var sd = has("surface_depression") ? boolField(findings.surface_depression) : "";
    setValue("surface_depression", sd === "unknown" ? "" : sd);
    var ki67 = has("ki67_percent") ? findings.ki67_percent : "";
    setValue("ki67_percent", ki67 === null || ki67 === "unknown" ? null : String(ki67));
    setValue("cga_positive", has("cga_positive") ? boolField(findings.cga_positive) : "");
    FIELDS.forEach(function (name) { touched[name] = true; });
    answerHost = true;
    schedule(0);
  });
  var lastHeight = 0;
  function resize() {
    var height = Math.ceil(document.documentElement.getBoundingClientRect().height);
    if (height !== lastHeight) { lastHeight = height; post({ type: "rnet:resize", height: height }); }
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
  if (embedded) {
    post({ type: "rnet:ready", model: modelInfo() });
    var initialErrors = {};
    each(form.querySelectorAll(".error[data-field]"), function (p) {
      if (p.textContent.trim()) { initialErrors[p.getAttribute("data-field")] = p.textContent.trim(); }
    });
    report(initialErrors);
    resize();
    if (typeof ResizeObserver === "function") { new ResizeObserver(resize).observe(document.documentElement); }
    else { window.addEventListener("resize", resize); }
  }
}());
