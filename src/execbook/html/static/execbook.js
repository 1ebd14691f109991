// Framework tabs: one choice per reader, applied to every tab group on the
// page. The first choice is made in <head> (tabs.py FIRST_TAB_SCRIPT: ?tab=,
// then what the reader chose before, then the book's default); a search hit
// that only another framework's pane holds shows that framework instead.
// Only a click (or the header switcher) stores a choice.
(function () {
  "use strict";
  const script = document.currentScript;
  const TABS = (script.dataset.tabs || "").split(" ").filter(Boolean);
  const LABELS = (script.dataset.labels || "").split("|");
  const REMEMBER = script.dataset.remember !== "0";
  const KEY = "execbook-tab";
  // read now: sphinx_highlight.js removes them at DOMContentLoaded
  const SEARCHED = searchedTerms();

  function label(tab) {
    const i = TABS.indexOf(tab);
    return i >= 0 && LABELS[i] ? LABELS[i] : tab;
  }

  function store(tab) {
    if (!REMEMBER) return;
    try {
      window.localStorage.setItem(KEY, tab);
    } catch (e) {
      /* storage can be disabled; the choice then lasts one page */
    }
  }

  function searchedTerms() {
    // what Sphinx's search highlights on the page it opens (searchtools.js _parseQuery)
    let terms = null;
    try {
      terms = window.localStorage.getItem("sphinx_highlight_terms");
    } catch (e) {
      terms = null;
    }
    terms = terms || new URLSearchParams(window.location.search).get("highlight") || "";
    return terms.toLowerCase().split(/\s+/).filter(Boolean);
  }

  function initialTab() {
    const early = document.documentElement.dataset.execbookTab;
    return TABS.includes(early) ? early : TABS[0];
  }

  function holdsTerm(element) {
    const text = element.textContent.toLowerCase();
    return SEARCHED.some((term) => text.includes(term));
  }

  // The pane to show for a search hit: none when the page shows a searched
  // term to this reader already (outside tab groups, or in their framework).
  function paneForSearch(tab) {
    if (!SEARCHED.length || new URLSearchParams(window.location.search).has("tab")) return null;
    const main = document.querySelector('[role="main"]') || document.body;
    const panes = Array.from(main.querySelectorAll(".execbook-pane"));
    if (!panes.some(holdsTerm)) return null;
    const rest = main.cloneNode(true);
    rest.querySelectorAll(".execbook-pane").forEach((pane) => pane.remove());
    if (holdsTerm(rest)) return null;
    if (panes.some((pane) => pane.dataset.tab === tab && holdsTerm(pane))) return null;
    return panes.find(holdsTerm);
  }

  function missingNote(group) {
    // a code group without the reader's framework: one quiet line, and a way to switch
    let note = group.querySelector(":scope > .execbook-missing");
    if (note) return note;
    note = document.createElement("p");
    note.className = "execbook-missing";
    const tabs = group.dataset.tabs.split(" ");
    note.append(`This code is for ${tabs.map(label).join(", ")} only. Show it in `);
    tabs.forEach((tab, i) => {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "execbook-switch";
      button.dataset.tab = tab;
      button.textContent = label(tab);
      if (i) note.append(i === tabs.length - 1 ? " or " : ", ");
      note.append(button);
    });
    note.append(".");
    group.prepend(note);
    return note;
  }

  function applyToGroup(group, tab) {
    const available = group.dataset.tabs.split(" ");
    const has = available.includes(tab);
    const prose = group.classList.contains("execbook-tabs-text");
    // prose written for other frameworks is not for this reader: not a trace of it
    group.hidden = prose && !has;
    const bar = group.querySelector(":scope > .execbook-tabbar");
    if (bar) bar.hidden = !has;
    group.querySelectorAll(":scope > .execbook-tabbar > .execbook-tab").forEach((button) => {
      const on = has && button.dataset.tab === tab;
      button.setAttribute("aria-selected", on ? "true" : "false");
      button.tabIndex = on ? 0 : -1;
    });
    group.querySelectorAll(":scope > .execbook-pane").forEach((pane) => {
      pane.hidden = !(has && pane.dataset.tab === tab);
    });
    if (!prose && !has) missingNote(group).hidden = false;
    else {
      const note = group.querySelector(":scope > .execbook-missing");
      if (note) note.hidden = true;
    }
  }

  function apply(tab) {
    document.documentElement.dataset.execbookTab = tab;
    document.querySelectorAll(".execbook-tabs").forEach((group) => applyToGroup(group, tab));
    document.querySelectorAll("select.execbook-switcher").forEach((select) => {
      select.value = tab;
    });
    document.querySelectorAll(".execbook-page-button").forEach((button) => {
      button.hidden = button.dataset.tab !== tab;
    });
  }

  function choose(tab, anchor) {
    // keep the clicked group where it is on screen while the others change height
    const before = anchor ? anchor.getBoundingClientRect().top : null;
    store(tab);
    apply(tab);
    const url = new URL(window.location.href);
    if (url.searchParams.has("tab")) {
      url.searchParams.set("tab", tab);
      window.history.replaceState(null, "", url);
    }
    if (anchor && anchor.isConnected && before !== null) {
      window.scrollBy(0, anchor.getBoundingClientRect().top - before);
    }
  }

  function onKey(event) {
    const button = event.target.closest(".execbook-tab");
    const keys = ["ArrowLeft", "ArrowRight", "Home", "End"];
    if (!button || !keys.includes(event.key)) return;
    event.preventDefault(); // Home/End would scroll the page
    const buttons = Array.from(button.parentNode.children);
    const at = buttons.indexOf(button);
    const index = {
      ArrowLeft: (at - 1 + buttons.length) % buttons.length,
      ArrowRight: (at + 1) % buttons.length,
      Home: 0,
      End: buttons.length - 1,
    }[event.key];
    const next = buttons[index];
    next.focus();
    choose(next.dataset.tab, next);
  }

  function init() {
    document.addEventListener("click", (event) => {
      const button = event.target.closest(".execbook-tab, .execbook-switch");
      if (button) choose(button.dataset.tab, button.closest(".execbook-tabs"));
    });
    document.addEventListener("keydown", onKey);
    document.querySelectorAll("select.execbook-switcher").forEach((select) => {
      select.addEventListener("change", () => choose(select.value, null));
    });
    let tab = initialTab();
    const hit = paneForSearch(tab);
    if (hit) tab = hit.dataset.tab; // shown, not stored: the reader did not choose it
    apply(tab);
    // the <head> rule did its work; from now on the hidden attributes decide
    const early = document.getElementById("execbook-first-tab");
    if (early) early.remove();
    highlightSearched();
    if (hit) hit.scrollIntoView({ block: "center" });
  }

  function highlightSearched() {
    // sphinx_highlight.js skips every page that loads searchtools.js (it
    // takes them for the search page), and the PyData theme loads it on
    // all; ask it here. Where it already ran, it finds no terms left.
    const searchPage = document.querySelector('script[src*="searchindex.js"]');
    if (SEARCHED.length && !searchPage && typeof SphinxHighlight !== "undefined") {
      SphinxHighlight.highlightSearchWords();
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
