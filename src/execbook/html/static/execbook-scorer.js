// Sphinx's search scorer (html_search_scorer): the default weights, and a
// score() that puts a page whose title holds every searched word first. A
// word found in any section title scores like one in the page title
// otherwise, so "Softmax Regression" came 4th for "softmax".
var Scorer = {
  score: (result) => {
    const [, title, anchor, , score] = result;
    const terms = execbookSearchedTerms();
    const pageTitle = String(title).split(" > ")[0].toLowerCase();
    if (!terms.length || !terms.every((term) => pageTitle.includes(term))) return score;
    return score + (anchor ? 20 : 40); // the page itself before its sections
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
