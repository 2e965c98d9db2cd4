// repost console: reload the page's content every data-refresh seconds,
// keeping the scroll position. Without JavaScript the page is the same,
// without the refresh. No request leaves this origin.
(function () {
  "use strict";
  var secs = parseInt(document.body.getAttribute("data-refresh"), 10);
  if (!(secs > 0)) { return; }
  var busy = false;
  function refresh() {
    // Not while hidden (no cost for a background tab), nor while the
    // reader selects text (a command being copied).
    var sel = window.getSelection && String(window.getSelection());
    if (busy || document.hidden || sel) { return; }
    busy = true;
    fetch(window.location.href, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var x = window.scrollX, y = window.scrollY;
        [["header.top", "header.top"], ["#main", "#main"]].forEach(function (p) {
          var from = doc.querySelector(p[0]), to = document.querySelector(p[1]);
          if (from && to) { to.replaceWith(document.importNode(from, true)); }
        });
        window.scrollTo(x, y);
        document.body.setAttribute("data-refreshed", String(Date.now()));
      })
      .catch(function () { /* keep the page as it is; try again next time */ })
      .then(function () { busy = false; });
  }
  window.setInterval(refresh, secs * 1000);
}());
