// live.js keeps the home page of the explorer current: it follows
// /explorer/live (Server-Sent Events) and prepends each new block,
// evidence record and trusted checkpoint to its table, keeping 20, 10 and
// 10 rows (a run of empty blocks is one row, extended as empty blocks
// come), and updates the summary. It builds rows with DOM calls only (no HTML strings).
(function () {
  "use strict";
  var summary = document.getElementById("summary");
  if (!summary || !window.EventSource) {
    return;
  }
  var KEEP_BLOCKS = 20;
  var KEEP_CHECKPOINTS = 10;
  var KEEP_EVIDENCE = 10;
  // A stream the node refused (503: it serves its most live streams) is
  // closed for good by the browser: open another this much later.
  var RETRY_MS = 30000;
  var status = document.getElementById("live-status");

  function setState(on) {
    if (!status) {
      return;
    }
    status.setAttribute("data-state", on ? "on" : "off");
    status.textContent = status.getAttribute(on ? "data-text-on" : "data-text-off");
  }

  function text(id, value) {
    var el = document.getElementById(id);
    if (el) {
      el.textContent = String(value);
    }
  }

  // utc formats an RFC 3339 time as the pages do: 2026-11-01 00:00:01 UTC.
  function utc(t) {
    var d = new Date(t);
    if (isNaN(d.getTime())) {
      return t;
    }
    return d.toISOString().slice(0, 19).replace("T", " ") + " UTC";
  }

  function cell(row, content, cls) {
    var td = document.createElement("td");
    if (cls) {
      td.className = cls;
    }
    if (content instanceof Node) {
      td.appendChild(content);
    } else {
      td.textContent = String(content);
    }
    row.appendChild(td);
    return td;
  }

  function link(href, label) {
    var a = document.createElement("a");
    a.href = href;
    a.textContent = String(label);
    return a;
  }

  function prepend(tableId, row, keep) {
    var table = document.getElementById(tableId);
    if (!table || !table.tBodies[0]) {
      return;
    }
    var body = table.tBodies[0];
    row.className = row.className ? row.className + " fresh" : "fresh";
    body.insertBefore(row, body.firstChild);
    while (body.rows.length > keep) {
      body.deleteRow(body.rows.length - 1);
    }
  }

  function timeEl(t) {
    var time = document.createElement("time");
    time.setAttribute("datetime", t);
    time.textContent = utc(t);
    return time;
  }

  // fillEmptyRun writes a row of empty blocks [from, to], as the page does.
  function fillEmptyRun(row, from, to, t) {
    var table = document.getElementById("latest-blocks");
    var format = (table && table.getAttribute("data-empty-format")) || "%d";
    while (row.firstChild) {
      row.removeChild(row.firstChild);
    }
    row.setAttribute("data-from", String(from));
    row.setAttribute("data-to", String(to));
    var range = document.createDocumentFragment();
    range.appendChild(link("/explorer/blocks/" + to, to));
    if (to > from) {
      range.appendChild(document.createTextNode("\u2013"));
      range.appendChild(link("/explorer/blocks/" + from, from));
    }
    cell(row, range);
    cell(row, timeEl(t));
    cell(row, format.replace("%d", String(to - from + 1)), "num muted");
  }

  // onEmptyBlock extends the run of empty blocks at the top of the table,
  // or starts one.
  function onEmptyBlock(b) {
    var table = document.getElementById("latest-blocks");
    if (!table || !table.tBodies[0]) {
      return;
    }
    var top = table.tBodies[0].rows[0];
    if (top && /(^| )empty-run( |$)/.test(top.className) &&
        parseInt(top.getAttribute("data-to"), 10) === b.height - 1) {
      fillEmptyRun(top, parseInt(top.getAttribute("data-from"), 10), b.height, b.time);
      return;
    }
    var row = document.createElement("tr");
    row.className = "empty-run";
    fillEmptyRun(row, b.height, b.height, b.time);
    prepend("latest-blocks", row, KEEP_BLOCKS);
  }

  function onBlock(ev) {
    var b;
    try {
      b = JSON.parse(ev.data);
    } catch (e) {
      return;
    }
    if (b.size === b.first) {
      onEmptyBlock(b);
    } else {
      var row = document.createElement("tr");
      cell(row, link("/explorer/blocks/" + b.height, b.height));
      cell(row, timeEl(b.time));
      cell(row, b.size - b.first, "num");
      prepend("latest-blocks", row, KEEP_BLOCKS);
    }
    text("sum-height", b.height);
    text("sum-size", b.size);
    text("sum-records", b.records);
    summary.setAttribute("data-height", String(b.height));
  }

  // onEvidence prepends the records a block appended (newest first in the
  // event) to the latest evidence.
  function onEvidence(ev) {
    var e;
    try {
      e = JSON.parse(ev.data);
    } catch (err) {
      return;
    }
    var table = document.getElementById("latest-evidence");
    if (!table) {
      return;
    }
    var stepFormat = table.getAttribute("data-step-format") || "%d";
    var names = {};
    try {
      names = JSON.parse(table.getAttribute("data-kind-names") || "{}");
    } catch (err) {
      names = {};
    }
    var recs = e.evidence || [];
    for (var i = recs.length - 1; i >= 0; i--) {
      var r = recs[i];
      var row = document.createElement("tr");
      cell(row, link("/explorer/chains/" + encodeURIComponent(r.chain), r.chain));
      cell(row, stepFormat.replace("%d", String(r.step)));
      var kind = document.createDocumentFragment();
      if (Object.prototype.hasOwnProperty.call(names, r.kind)) {
        var name = document.createElement("span");
        name.className = "kind-name";
        name.textContent = names[r.kind];
        kind.appendChild(name);
        kind.appendChild(document.createTextNode(" "));
      }
      var code = document.createElement("code");
      code.textContent = r.kind;
      kind.appendChild(code);
      cell(row, kind);
      cell(row, r.submitter ? link("/explorer/members/" + encodeURIComponent(r.submitter), r.submitter) : "\u2014");
      cell(row, timeEl(r.time));
      cell(row, link("/explorer/evidence/" + r.id, r.id));
      prepend("latest-evidence", row, KEEP_EVIDENCE);
    }
    var empty = document.getElementById("latest-evidence-empty");
    if (empty && recs.length > 0) {
      empty.parentNode.removeChild(empty);
    }
  }

  function onCheckpoint(ev) {
    var c;
    try {
      c = JSON.parse(ev.data);
    } catch (e) {
      return;
    }
    var row = document.createElement("tr");
    cell(row, link("/explorer/blocks/" + c.height, c.height));
    cell(row, c.size, "num");
    var signers = document.createDocumentFragment();
    (c.signers || []).forEach(function (name, i) {
      if (i > 0) {
        signers.appendChild(document.createTextNode(", "));
      }
      signers.appendChild(link("/explorer/members/" + encodeURIComponent(name), name));
    });
    cell(row, signers);
    cell(row, c.power + "/" + c.total, "num");
    cell(row, "", "stamp"); // a new checkpoint is stamped later
    prepend("latest-checkpoints", row, KEEP_CHECKPOINTS);
    var sum = document.getElementById("sum-checkpoint");
    if (sum) {
      while (sum.firstChild) {
        sum.removeChild(sum.firstChild);
      }
      sum.appendChild(link("/explorer/blocks/" + c.height, c.height));
      var format = sum.getAttribute("data-size-format");
      if (format) {
        var note = document.createElement("span");
        note.className = "muted";
        note.textContent = format.replace("%d", String(c.size));
        sum.appendChild(document.createTextNode(" "));
        sum.appendChild(note);
      }
    }
  }

  // follow opens the stream after the last block shown.
  function follow() {
    var after = summary.getAttribute("data-height") || "";
    var url = "/explorer/live" + (after ? "?after=" + encodeURIComponent(after) : "");
    var source = new EventSource(url);
    source.addEventListener("open", function () { setState(true); });
    source.addEventListener("error", function () {
      setState(false);
      if (source.readyState === EventSource.CLOSED) {
        setTimeout(follow, RETRY_MS);
      }
    });
    source.addEventListener("block", onBlock);
    source.addEventListener("evidence", onEvidence);
    source.addEventListener("checkpoint", onCheckpoint);
  }
  follow();
})();
