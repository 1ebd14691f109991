// Loads Sphinx's search index when the reader starts a search (focus in a
// search field, or Ctrl/Cmd+K), not on every page before its first paint
// (templates/layout.html leaves it out). A query typed before it arrives is
// run by Search.setIndex.
(function () {
  "use strict";
  let requested = false;

  function loadIndex() {
    if (requested || typeof Search === "undefined" || Search.hasIndex()) return;
    requested = true;
    if (document.querySelector('script[src*="searchindex.js"]')) return; // the search page loads it itself
    Search.loadIndex(document.documentElement.dataset.content_root + "searchindex.js");
  }

  document.addEventListener("focusin", (event) => {
    if (event.target.matches && event.target.matches('input[name="q"]')) loadIndex();
  });
  document.addEventListener("keydown", (event) => {
    if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "k") loadIndex();
  });
})();
