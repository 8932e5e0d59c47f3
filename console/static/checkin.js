/* 报到 page: print the check-in code, and show check-ins as they arrive.
   The console streams them as server-sent events (/checkin/events): each `checkin` event
   carries one table row rendered (and escaped) by the console; `trouble` carries a sentence.
   No inline script: the page's Content-Security-Policy allows scripts from 'self' only. */
(function () {
  "use strict";
  var printButton = document.getElementById("print-code");
  if (printButton) {
    printButton.addEventListener("click", function () { window.print(); });
  }
  var table = document.getElementById("checkins");
  var state = document.getElementById("live-state");
  if (!table || !state) { return; }
  if (!window.EventSource) {
    state.textContent = "此浏览器不支持实时推送，请刷新页面查看新的报到。";
    return;
  }
  var body = table.tBodies[0];
  var source = new EventSource(table.getAttribute("data-stream"));
  source.addEventListener("open", function () {
    state.textContent = "实时接收中";
    state.className = "live-state on";
  });
  source.addEventListener("checkin", function (event) {
    if (event.lastEventId && document.getElementById("checkin-" + event.lastEventId)) { return; }
    var empty = document.getElementById("no-checkins");
    if (empty) { empty.parentNode.removeChild(empty); }
    body.insertAdjacentHTML("afterbegin", event.data);
    var row = body.rows[0];
    if (row) { row.classList.add("fresh"); }
    ["checkin-total", "checkin-shown"].forEach(function (id) {
      var counter = document.getElementById(id);
      if (counter) { counter.textContent = String((parseInt(counter.textContent, 10) || 0) + 1); }
    });
  });
  source.addEventListener("trouble", function (event) {
    state.textContent = event.data;
    state.className = "live-state off";
  });
  source.addEventListener("error", function () {
    if (source.readyState === EventSource.CLOSED) {
      state.textContent = "实时推送已断开，请刷新页面（如已退出登录，请重新登录）。";
    } else {
      state.textContent = "正在重新连接…";
    }
    state.className = "live-state off";
  });
}());
