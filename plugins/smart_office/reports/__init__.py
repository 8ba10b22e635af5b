"""Customer reports for quarterly business reviews: one customer's posture over a period, as HTML and PDF.

`period` reads a period; `queries` reads the marts; `document` builds the HTML with the dashboard export's
means; `pdf` prints that HTML with headless Chromium; `output` writes both to a folder or an object store;
`batch` writes every customer's report (the monthly DAG); `cli` is `smart-office report`.
"""
