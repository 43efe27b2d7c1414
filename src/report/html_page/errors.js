// Runs before the report's script: every error of the page (a script that
// throws, a console.error) is counted on <html data-errors> and listed at the
// top of the page, so that a broken report says so, to people and to tests.
(function () {
  "use strict";
  var root = document.documentElement;
  root.dataset.errors = "0";
  function report(text) {
    root.dataset.errors = String(Number(root.dataset.errors) + 1);
    var list = document.getElementById("page-errors");
    if (!list) {
      list = document.createElement("ol");
      list.id = "page-errors";
      document.body.insertBefore(list, document.body.firstChild);
    }
    var item = document.createElement("li");
    item.textContent = "report error: " + text;
    list.appendChild(item);
  }
  window.addEventListener("error", function (e) {
    report(e.message + (e.lineno ? " (line " + e.lineno + ")" : ""));
  });
  window.addEventListener("unhandledrejection", function (e) {
    report(String(e.reason));
  });
  var consoleError = console.error;
  console.error = function () {
    report(Array.prototype.join.call(arguments, " "));
    consoleError.apply(console, arguments);
  };
})();
