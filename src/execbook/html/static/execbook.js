// Framework tabs: one choice per reader, applied to every tab group on the
// page, taken from ?tab=, then from what the reader chose before, then the
// book's default (the first tab).
(function () {
  "use strict";
  const script = document.currentScript;
  const TABS = (script.dataset.tabs || "").split(" ").filter(Boolean);
  const LABELS = (script.dataset.labels || "").split("|");
  const REMEMBER = script.dataset.remember !== "0";
  const KEY = "execbook-tab";

  function label(tab) {
    const i = TABS.indexOf(tab);
    return i >= 0 && LABELS[i] ? LABELS[i] : tab;
  }

  function stored() {
    try {
      return REMEMBER ? window.localStorage.getItem(KEY) : null;
    } catch (e) {
      return null; // storage can be disabled; the choice then lasts one page
    }
  }

  function store(tab) {
    if (!REMEMBER) return;
    try {
      window.localStorage.setItem(KEY, tab);
    } catch (e) {
      /* see stored() */
    }
  }

  function initialTab() {
    const fromUrl = new URLSearchParams(window.location.search).get("tab");
    if (fromUrl && TABS.includes(fromUrl)) {
      store(fromUrl);
      return fromUrl;
    }
    const previous = stored();
    return previous && TABS.includes(previous) ? previous : TABS[0];
  }

  function applyToGroup(group, tab) {
    const available = group.dataset.tabs.split(" ");
    const has = available.includes(tab);
    group.querySelectorAll(":scope > .execbook-tabbar > .execbook-tab").forEach((button) => {
      const on = has && button.dataset.tab === tab;
      button.setAttribute("aria-selected", on ? "true" : "false");
      button.tabIndex = on || (!has && button === button.parentNode.firstElementChild) ? 0 : -1;
    });
    group.querySelectorAll(":scope > .execbook-pane").forEach((pane) => {
      pane.hidden = !(has && pane.dataset.tab === tab);
    });
    const note = group.querySelector(":scope > .execbook-missing");
    if (note) {
      note.hidden = has;
      const name = note.querySelector(".execbook-missing-name");
      if (name) name.textContent = label(tab);
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
    if (anchor && before !== null) {
      window.scrollBy(0, anchor.getBoundingClientRect().top - before);
    }
  }

  function onKey(event) {
    const button = event.target.closest(".execbook-tab");
    if (!button || !["ArrowLeft", "ArrowRight"].includes(event.key)) return;
    const buttons = Array.from(button.parentNode.children);
    const step = event.key === "ArrowRight" ? 1 : -1;
    const next = buttons[(buttons.indexOf(button) + step + buttons.length) % buttons.length];
    next.focus();
    choose(next.dataset.tab, next);
  }

  function init() {
    document.addEventListener("click", (event) => {
      const button = event.target.closest(".execbook-tab");
      if (button) choose(button.dataset.tab, button);
    });
    document.addEventListener("keydown", onKey);
    document.querySelectorAll("select.execbook-switcher").forEach((select) => {
      select.addEventListener("change", () => choose(select.value, null));
    });
    apply(initialTab());
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
