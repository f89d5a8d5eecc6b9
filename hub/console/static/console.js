// Draws every figure the page carries (<script type="application/json" id="fig-NAME">) into <div id="chart-NAME">.
(function () {
  "use strict";
  document.querySelectorAll('script[type="application/json"][id^="fig-"]').forEach(function (node) {
    var target = document.getElementById("chart-" + node.id.slice(4));
    if (!target) { return; }
    var fig = JSON.parse(node.textContent);
    if (!fig.data.length) {
      target.classList.add("empty");
      target.textContent = "暂无数据 No data yet";
      return;
    }
    Plotly.newPlot(target, fig.data, fig.layout, { displayModeBar: false, responsive: true });
  });
})();
