"""The dashboard's entry script (`streamlit run app.py`, started by `smart-office dashboard`).

Four pages share one sidebar: the navigation links carry the current filters in their query string, so
moving between pages keeps the customer, date range, severities and sources (and the URL shows them).
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

VIEWS = Path(__file__).resolve().parent / "views"
# A file shipped with the package, never a ":material/...:" name: Streamlit turns those into a favicon URL on
# fonts.gstatic.com, an outside call a security product must not make (and offline it fails). An SVG file
# reaches the browser inline, as a data: URL.
PAGE_ICON = Path(__file__).resolve().parent / "static" / "shield.svg"
PAGES: tuple[tuple[str, str, str], ...] = (
    ("portfolio", "Portfolio", ":material/dashboard:"),
    ("customer", "Customer", ":material/domain:"),
    ("alerts", "Alerts", ":material/notification_important:"),
    ("opportunities", "Opportunities", ":material/trending_up:"),
)


def main() -> None:
    st.set_page_config(page_title="Partner Smart Office", page_icon=PAGE_ICON, layout="wide")
    pages = [
        st.Page(VIEWS / f"{name}.py", title=title, icon=icon, url_path=name, default=name == "portfolio")
        for name, title, icon in PAGES
    ]
    current = st.navigation(pages, position="hidden")
    navigation = st.sidebar.container()
    current.run()
    # Filled after the page ran, so the links carry the filters as the page left them.
    with navigation:
        st.markdown("### :material/shield: Partner Smart Office")
        query = st.query_params.to_dict()
        for page in pages:
            st.page_link(page, query_params=query)
        st.divider()


main()
