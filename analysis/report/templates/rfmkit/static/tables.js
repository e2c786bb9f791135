/* rfmkit report tables: sort and filter every table of more than 20 rows, in place.
   Shipped with the kit and allowed by its sha256 in the report's Content-Security-Policy (analysis/report/render.py).
   It reads only the HTML tables already in the page: it holds no data, loads nothing and writes no HTML. */
(function () {
  "use strict";
  var MIN_ROWS = 20;
  var body = document.body;
  var filterLabel = body.getAttribute("data-rfm-filter") || "Filter";
  var rowsLabel = body.getAttribute("data-rfm-rows") || "rows";
  var sortLabel = body.getAttribute("data-rfm-sort") || "Sort";
  var SCALE = { k: 1e3, K: 1e3, M: 1e6, B: 1e9, "万": 1e4, "亿": 1e8 };

  function number(text) {
    var s = text.replace(/[\s\u00a0,]/g, "").replace(/\u2212/g, "-");
    var m = /^[^\dA-Za-z+\-.]*([+\-]?)[^\dA-Za-z.]*(\d*\.?\d+(?:e[+\-]?\d+)?)(k|K|M|B|万|亿)?%?$/.exec(s);
    if (!m) { return NaN; }
    var v = parseFloat(m[2]) * (m[3] ? SCALE[m[3]] : 1);
    return m[1] === "-" ? -v : v;
  }

  function headerRow(table, width) {
    var head = table.tHead;
    if (!head) { return null; }
    for (var i = 0; i < head.rows.length; i++) {
      var row = head.rows[i];
      var ok = row.cells.length === width;
      for (var j = 0; ok && j < row.cells.length; j++) { ok = row.cells[j].colSpan === 1; }
      if (ok) { return row; }
    }
    return null;
  }

  function enhance(table, number_of_table) {
    var tbody = table.tBodies[0];
    var rows = Array.prototype.slice.call(tbody.rows);
    var width = rows[0].cells.length;
    var spans = rows.some(function (r) {
      return r.cells.length !== width || Array.prototype.some.call(r.cells, function (c) { return c.rowSpan > 1; });
    });
    var wrap = document.createElement("div");
    wrap.className = "rfm-scroll";
    table.parentNode.insertBefore(wrap, table);
    wrap.appendChild(table);
    var bar = document.createElement("div");
    bar.className = "rfm-filter";
    var input = document.createElement("input");
    input.type = "search";
    input.id = "rfm-filter-" + number_of_table;
    input.setAttribute("aria-label", filterLabel);
    input.placeholder = filterLabel;
    var count = document.createElement("span");
    count.className = "rfm-count";
    count.textContent = rows.length + " " + rowsLabel;
    bar.appendChild(input);
    bar.appendChild(count);
    wrap.parentNode.insertBefore(bar, wrap);
    var texts = rows.map(function (r) { return r.textContent.toLowerCase(); });
    input.addEventListener("input", function () {
      var words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
      var shown = 0;
      rows.forEach(function (r, i) {
        var keep = words.every(function (w) { return texts[i].indexOf(w) >= 0; });
        r.hidden = !keep;
        if (keep) { shown += 1; }
      });
      count.textContent = (words.length ? shown + " / " : "") + rows.length + " " + rowsLabel;
    });
    var head = spans ? null : headerRow(table, width);
    if (!head) { return; }
    Array.prototype.forEach.call(head.cells, function (cell, k) {
      if (!cell.textContent.trim()) { return; }
      cell.classList.add("rfm-sortable");
      cell.tabIndex = 0;
      cell.title = sortLabel;
      cell.setAttribute("aria-sort", "none");
      function sort() {
        var ascending = cell.getAttribute("aria-sort") !== "ascending";
        Array.prototype.forEach.call(head.cells, function (c) {
          if (c.hasAttribute("aria-sort")) { c.setAttribute("aria-sort", "none"); }
        });
        cell.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        var keyed = rows.map(function (r, i) {
          var text = r.cells[k] ? r.cells[k].textContent.trim() : "";
          return { row: r, i: i, text: text, num: number(text) };
        });
        keyed.sort(function (a, b) {
          var an = isNaN(a.num), bn = isNaN(b.num), d;
          if (an !== bn) { return an ? 1 : -1; }  /* numbers first, text and blanks after, either way */
          if (!an) { d = a.num - b.num; } else { d = a.text.localeCompare(b.text); }
          if (!ascending) { d = -d; }
          return d || a.i - b.i;
        });
        keyed.forEach(function (x) { tbody.appendChild(x.row); });
      }
      cell.addEventListener("click", sort);
      cell.addEventListener("keydown", function (e) {
        if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sort(); }
      });
    });
  }

  /* printing shows the appendix's collapsed sections too */
  window.addEventListener("beforeprint", function () {
    Array.prototype.forEach.call(document.querySelectorAll("details"), function (d) { d.open = true; });
  });

  var tables = document.querySelectorAll("main table");
  var n = 0;
  Array.prototype.forEach.call(tables, function (table) {
    if (table.tBodies.length === 1 && table.tBodies[0].rows.length > MIN_ROWS) {
      n += 1;
      enhance(table, n);
    }
  });
}());
