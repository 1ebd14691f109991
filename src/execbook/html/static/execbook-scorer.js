// Sphinx's search scorer (html_search_scorer): the default weights, and a
// score() that puts a page whose title holds every searched word first, the
// title nearest the query first among them. A word found in any section title
// scores like one in the page title otherwise, so "Softmax Regression" came
// 4th for "softmax" (2nd, after "Concise Implementation of Softmax
// Regression", without the nearness).
var Scorer = {
  score: (result) => {
    const [, title, anchor, , score] = result;
    const terms = execbookSearchedTerms();
    const pageTitle = String(title).split(" > ")[0].toLowerCase();
    if (!terms.length || !terms.every((term) => pageTitle.includes(term))) return score;
    // among such pages, the title that is most nearly the query first: "Softmax
    // Regression" before "Concise Implementation of Softmax Regression" (up to 10)
    const closeness = Math.round((10 * terms.join(" ").length) / Math.max(pageTitle.length, 1));
    return score + (anchor ? 20 : 40) + Math.min(closeness, 10); // the page itself before its sections
  },
  objNameMatch: 11,
  objPartialMatch: 6,
  objPrio: { 0: 15, 1: 5, 2: -5 },
  objPrioDefault: 0,
  title: 15,
  partialTitle: 7,
  term: 5,
  partialTerm: 2,
};

// The words of the query being scored: searchtools.js stores them (as it
// will highlight them) just before it scores; else the search field's text.
function execbookSearchedTerms() {
  let text = null;
  try {
    text = window.localStorage.getItem("sphinx_highlight_terms");
  } catch (e) {
    text = null;
  }
  if (!text) {
    const field = document.querySelector('#pst-search-dialog input[name="q"]');
    text = (field && field.value) || new URLSearchParams(window.location.search).get("q") || "";
  }
  return text.toLowerCase().split(/\s+/).filter(Boolean);
}
