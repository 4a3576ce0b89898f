// The search page: the editor's keys and completion, range presets and the histogram's selection,
// filters from clicked values, history and saved queries, downloads and the live tail.
// Runs go through the form (htmx, GET /ui/search/results); nothing here evaluates code, and text
// from the server or from events reaches the page through textContent only.
"use strict";
(function () {
  var form, query, fromInput, toInput, zoneSelect, prefix;

  function $(id) { return document.getElementById(id); }

  function csrf() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRF-Token"] || "";
    } catch (e) {
      return "";
    }
  }

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { "X-CSRF-Token": csrf() } })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      });
  }

  function searchParams(extra) {
    var params = new URLSearchParams({
      q: query.value, from: fromInput.value, to: toInput.value, tz: zoneSelect.value,
    });
    Object.keys(extra || {}).forEach(function (name) { params.set(name, extra[name]); });
    return params;
  }

  function run() {
    stopLive();
    liveStatus("");
    closeCompletion();
    form.requestSubmit();
  }

  // -- times in the page's zone --------------------------------------------------------------------

  function localText(ms) {
    var format;
    try {
      format = new Intl.DateTimeFormat("en-CA", {
        timeZone: zoneSelect.value, year: "numeric", month: "2-digit", day: "2-digit",
        hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23",
      });
    } catch (e) {  // a fixed offset such as GMT+2 is no IANA zone
      format = new Intl.DateTimeFormat("en-CA", {
        timeZone: "UTC", year: "numeric", month: "2-digit", day: "2-digit",
        hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23",
      });
    }
    var parts = {};
    format.formatToParts(new Date(ms)).forEach(function (part) { parts[part.type] = part.value; });
    return parts.year + "-" + parts.month + "-" + parts.day + " " +
      parts.hour + ":" + parts.minute + ":" + parts.second;
  }

  // -- links that carry the search -----------------------------------------------------------------

  function updateAlertLink() {
    var link = $("create-alert");
    if (!link) return;
    var params = new URLSearchParams({ query: query.value, from: fromInput.value, to: toInput.value });
    link.setAttribute("href", prefix + "/alerts/new?" + params.toString());
  }

  function download() {
    var link = document.createElement("a");
    link.href = prefix + "/search/download?" + searchParams({ format: $("format").value }).toString();
    document.body.appendChild(link);
    link.click();
    link.remove();
  }

  // -- a click on a value filters on it --------------------------------------------------------------

  // Cells carry nothing of their own (a page is 12,000 of them): their column's header says
  // whether a value can be filtered on.
  function headerOf(cell) {
    var table = cell.closest("table");
    return table && table.tHead && table.tHead.rows[0].cells[cell.cellIndex];
  }

  // Every row is a grid of its own (so rows out of sight are neither laid out nor painted: see
  // console.css); the columns' widths come from the headers' data-width, in characters.
  function sizeColumns(table) {
    var headers = table.tHead ? Array.prototype.slice.call(table.tHead.rows[0].cells) : [];
    // Four characters more for the cells' padding and the headers' wider font.
    var widths = headers.map(function (th) { return (Number(th.dataset.width || 14) + 4) + "ch"; });
    if (widths.length) table.style.setProperty("--columns", widths.join(" "));
  }

  function filterOn(cell) {
    var header = headerOf(cell);
    if (!header) return;
    var params = new URLSearchParams({
      q: query.value, column: header.textContent, value: cell.textContent,
    });
    getJSON(prefix + "/search/filter?" + params.toString()).then(function (answer) {
      query.value = answer.query;
      updateAlertLink();
      run();
    }).catch(function () { /* the query no longer parses: its run shows why */ });
  }

  // -- live tail -------------------------------------------------------------------------------------

  var source = null, paused = false, waiting = [], liveBody = null, liveKinds = [], liveRows = 0;

  function liveStatus(text) { $("live-status").textContent = text; }

  function showError(text) {
    var results = $("results");
    results.textContent = "";
    var box = document.createElement("div");
    box.className = "error";
    box.setAttribute("role", "alert");
    var pre = document.createElement("pre");
    pre.className = "linq-error";
    pre.textContent = text;
    box.appendChild(pre);
    results.appendChild(box);
  }

  function liveTable(columns) {
    var results = $("results");
    results.textContent = "";
    var table = document.createElement("table");
    table.setAttribute("aria-label", "Results");
    table.className = "live-rows grid-rows";
    var thead = table.createTHead();
    thead.setAttribute("role", "rowgroup");
    var head = thead.insertRow();
    head.setAttribute("role", "row");
    columns.forEach(function (column) {
      var th = document.createElement("th");
      th.scope = "col";
      th.setAttribute("role", "columnheader");
      th.textContent = column.name;
      th.dataset.width = String(column.kind === "str" ? 32 : 24);
      if (column.kind === "str") th.setAttribute("data-filter", "");
      head.appendChild(th);
    });
    sizeColumns(table);
    liveKinds = columns.map(function (column) { return column.kind; });
    liveBody = table.createTBody();
    results.appendChild(table);
  }

  function addLiveRow(row) {
    if (!liveBody) return;
    var tr = document.createElement("tr");
    tr.setAttribute("role", "row");
    row.forEach(function (value) {
      var td = document.createElement("td");
      td.setAttribute("role", "cell");
      if (value === null) {
        td.className = "null";
        td.textContent = "null";
      } else {
        td.textContent = value;
      }
      tr.appendChild(td);
    });
    liveBody.insertBefore(tr, liveBody.firstChild);  // the newest on top
    liveRows += 1;
  }

  function showLiveCount() {
    if (paused) {
      liveStatus("Live tail paused: " + waiting.length + " new row" +
        (waiting.length === 1 ? "" : "s") + " waiting");
    } else {
      liveStatus("Live tail: " + liveRows + " row" + (liveRows === 1 ? "" : "s"));
    }
  }

  function flushWaiting() {
    waiting.forEach(addLiveRow);
    waiting = [];
  }

  function startLive() {
    stopLive();
    $("live").checked = true;
    if (!query.value.trim()) {
      $("live").checked = false;
      liveStatus("Write a query first");
      return;
    }
    $("results").textContent = "";
    liveRows = 0;
    liveStatus("Live tail: waiting for rows…");
    var stream = new EventSource(prefix + "/search/live?" + searchParams().toString());
    source = stream;
    stream.addEventListener("columns", function (event) { liveTable(JSON.parse(event.data)); });
    stream.onmessage = function (event) {
      var row = JSON.parse(event.data);
      if (paused) waiting.push(row); else addLiveRow(row);
      showLiveCount();
    };
    stream.addEventListener("end", function (event) {
      var end = JSON.parse(event.data);
      flushWaiting();
      stopLive();
      liveStatus("Live tail stopped after " + end.rows.toLocaleString("en") +
        " rows, the most it shows: run the query or turn Live on again");
    });
    stream.addEventListener("failed", function (event) {
      stopLive();
      liveStatus("Live tail stopped: the query failed");
      showError(JSON.parse(event.data).message);
    });
    stream.onerror = function () {
      // Reconnecting would start the query over and repeat its rows: stop instead.
      if (source !== stream) return;
      stopLive();
      liveStatus("Live tail lost its connection");
    };
    $("pause").hidden = false;
  }

  function stopLive() {
    if (source) source.close();
    source = null;
    paused = false;
    waiting = [];
    $("live").checked = false;
    var pause = $("pause");
    pause.hidden = true;
    pause.textContent = "Pause";
  }

  function togglePause() {
    var pause = $("pause");
    paused = !paused;
    pause.textContent = paused ? "Resume" : "Pause";
    if (!paused) flushWaiting();
    showLiveCount();
  }

  // -- completion ------------------------------------------------------------------------------------

  var catalogue = null, columnsOf = {}, items = [], active = -1, wordStart = 0, asked = 0;

  function loadCatalogue() {
    if (!catalogue) {
      catalogue = getJSON(prefix + "/search/catalogue").catch(function () {
        catalogue = null;
        return { tables: [], functions: [] };
      });
    }
    return catalogue;
  }

  function loadColumns(table) {
    if (!columnsOf[table]) {
      var params = new URLSearchParams({ table: table });
      columnsOf[table] = getJSON(prefix + "/search/columns?" + params.toString())
        .then(function (answer) { return answer.columns; }, function () { return []; });
    }
    return columnsOf[table];
  }

  function tableOf(text) {
    var found = /(?:^|\s)from\s+(`[^`]+`|[A-Za-z0-9_.]+)/.exec(text);
    return found ? found[1].replace(/`/g, "") : null;
  }

  function candidates(before) {
    return loadCatalogue().then(function (known) {
      if (/(?:^|\s)from\s+[A-Za-z0-9_.]*$/.test(before)) {
        return known.tables.map(function (name) { return { label: name, insert: name, detail: "table" }; });
      }
      var table = tableOf(query.value);
      return (table ? loadColumns(table) : Promise.resolve([])).then(function (columns) {
        var listed = columns.map(function (c) { return { label: c.name, insert: c.name, detail: c.type }; });
        return listed.concat(known.functions.map(function (f) {
          return { label: f.name, insert: f.name + "(", detail: f.signature, doc: f.doc };
        }));
      });
    });
  }

  function complete(forced) {
    var caret = query.selectionStart;
    if (caret !== query.selectionEnd) { closeCompletion(); return; }
    var before = query.value.slice(0, caret);
    var word = /[A-Za-z0-9_.]*$/.exec(before)[0];
    if (!word && !(forced || /(?:^|\s)from\s+$/.test(before))) { closeCompletion(); return; }
    var ticket = ++asked;
    candidates(before).then(function (found) {
      if (ticket !== asked || query.selectionStart !== caret) return;  // the text moved on
      var lower = word.toLowerCase();
      items = found.filter(function (item) {
        var label = item.label.toLowerCase();
        return label.indexOf(lower) === 0 && item.label !== word;
      }).slice(0, 12);
      wordStart = caret - word.length;
      showCompletion();
    });
  }

  function showCompletion() {
    var list = $("completions");
    list.textContent = "";
    if (!items.length) { closeCompletion(); return; }
    items.forEach(function (item, i) {
      var li = document.createElement("li");
      li.id = "completion-" + i;
      li.setAttribute("role", "option");
      var name = document.createElement("span");
      name.className = "name";
      name.textContent = item.label;
      var detail = document.createElement("span");
      detail.className = "detail";
      detail.textContent = item.detail;
      li.appendChild(name);
      li.appendChild(detail);
      if (item.doc) li.title = item.doc;
      li.addEventListener("mousedown", function (event) {
        event.preventDefault();  // keep the editor's focus and caret
        accept(i);
      });
      list.appendChild(li);
    });
    list.hidden = false;
    select(0);
  }

  function select(i) {
    var list = $("completions");
    active = (i + items.length) % items.length;
    Array.prototype.forEach.call(list.children, function (li, n) {
      li.setAttribute("aria-selected", n === active ? "true" : "false");
    });
    query.setAttribute("aria-activedescendant", "completion-" + active);
    list.children[active].scrollIntoView({ block: "nearest" });
  }

  function accept(i) {
    var item = items[i];
    if (!item) return;
    query.setRangeText(item.insert, wordStart, query.selectionStart, "end");
    closeCompletion();
    query.focus();
    updateAlertLink();
  }

  function closeCompletion() {
    asked += 1;
    items = [];
    active = -1;
    var list = $("completions");
    if (list) { list.hidden = true; list.textContent = ""; }
    if (query) query.removeAttribute("aria-activedescendant");
  }

  function onEditorKey(event) {
    var open = items.length > 0 && !$("completions").hidden;
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      run();
    } else if (event.key === " " && event.ctrlKey) {
      event.preventDefault();
      complete(true);
    } else if (open && event.key === "ArrowDown") {
      event.preventDefault();
      select(active + 1);
    } else if (open && event.key === "ArrowUp") {
      event.preventDefault();
      select(active - 1);
    } else if (open && (event.key === "Enter" || event.key === "Tab")) {
      event.preventDefault();
      accept(active);
    } else if (open && event.key === "Escape") {
      event.preventDefault();
      closeCompletion();
    }
  }

  // -- wiring ----------------------------------------------------------------------------------------

  function onClick(event) {
    var target = event.target;
    var preset = target.closest(".presets button[data-from]");
    if (preset) {
      fromInput.value = preset.dataset.from;
      toInput.value = preset.dataset.to;
      updateAlertLink();
      run();
      return;
    }
    var entry = target.closest("button.load[data-query]");
    if (entry) {
      query.value = entry.dataset.query;
      if (entry.dataset.from) fromInput.value = entry.dataset.from;
      if (entry.dataset.to) toInput.value = entry.dataset.to;
      $("lists").textContent = "";
      updateAlertLink();
      run();
      return;
    }
    if (target.closest("[data-close-list]")) {
      $("lists").textContent = "";
      return;
    }
    var cell = target.closest("#results td");
    if (cell && !cell.classList.contains("null") && headerOf(cell) &&
        headerOf(cell).hasAttribute("data-filter") && !String(window.getSelection() || "")) {
      filterOn(cell);
    }
  }

  function start() {
    form = $("search");
    if (!form) return;
    query = $("query");
    fromInput = $("from");
    toInput = $("to");
    zoneSelect = $("tz");
    prefix = form.dataset.prefix;
    // A Back to a search reloads its URL, which runs it: the page keeps no snapshots.
    if (window.htmx) window.htmx.config.refreshOnHistoryMiss = true;

    query.addEventListener("keydown", onEditorKey);
    query.addEventListener("input", function () { complete(false); });
    query.addEventListener("blur", closeCompletion);
    form.addEventListener("input", updateAlertLink);
    form.addEventListener("change", updateAlertLink);
    zoneSelect.addEventListener("change", function () {
      if (source) startLive(); else if (query.value.trim()) run();
    });
    $("live").addEventListener("change", function () {
      if ($("live").checked) startLive(); else { stopLive(); liveStatus("Live tail stopped"); }
    });
    $("pause").addEventListener("click", togglePause);
    $("download").addEventListener("click", download);
    $("create-alert").addEventListener("click", updateAlertLink);
    form.addEventListener("submit", function () { stopLive(); closeCompletion(); });
    document.addEventListener("click", onClick);
    document.addEventListener("hits:select", function (event) {
      fromInput.value = localText(Math.floor(event.detail.from / 1000) * 1000);
      toInput.value = localText(Math.ceil(event.detail.to / 1000) * 1000);
      updateAlertLink();
      run();
    });
    // htmx swaps no error answers by default: a wrong query's message (and its caret) and a
    // refusal are fragments meant to be shown.
    document.addEventListener("htmx:afterSwap", function () {
      var table = document.querySelector("#results table.grid-rows");
      if (table && !table.style.getPropertyValue("--columns")) sizeColumns(table);
    });
    document.addEventListener("htmx:beforeSwap", function (event) {
      var status = event.detail.xhr.status;
      if (status === 400 || status === 403 || status === 404 || status === 413 || status === 429) {
        event.detail.shouldSwap = true;
        event.detail.isError = false;
      }
    });
    updateAlertLink();
  }

  document.addEventListener("DOMContentLoaded", start);
})();
