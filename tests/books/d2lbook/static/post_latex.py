"""Post-process the LaTeX of the Mini Book: d2l-book runs `python post_latex.py book.tex`."""
import sys

path = sys.argv[1]
with open(path, encoding="utf-8") as f:
    text = f.read()
text = text.replace(r"\begin{document}", "\\begin{document}\nTypeset after post-processing by the Mini Book.\n", 1)
with open(path, "w", encoding="utf-8") as f:
    f.write(text)
