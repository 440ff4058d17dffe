"""CAR-T ICU prognosis explorer: page configuration and navigation only."""

from pathlib import Path

import streamlit as st

st.set_page_config(
    page_title="CAR-T ICU prognosis explorer",
    page_icon=":material/monitor_heart:",
    layout="wide",
    initial_sidebar_state="expanded",
)

HERE = Path(__file__).parent

# (file, title, icon, section). Views from later issues are listed here and appear in the
# navigation as soon as their page file exists.
PAGES = [
    ("app_pages/overview.py", "Overview", ":material/home:", "Study"),
    ("app_pages/story.py", "What the study found", ":material/slideshow:", "Study"),
    ("app_pages/reproduction.py", "Reproduction", ":material/fact_check:", "Study"),
    ("app_pages/compare.py", "Compare groups", ":material/table_chart:", "Explore"),
    ("app_pages/survival.py", "Survival curves", ":material/show_chart:", "Explore"),
    ("app_pages/cox.py", "Cox model", ":material/forest:", "Explore"),
    ("app_pages/calculator.py", "Hazard calculator", ":material/calculate:", "Explore"),
    ("app_pages/your_data.py", "Your data", ":material/upload_file:", "Data"),
    ("app_pages/glossary.py", "Glossary and methods", ":material/menu_book:", "Learn"),
    ("app_pages/about.py", "About the data", ":material/info:", "Learn"),
]

sections: dict[str, list] = {}
for path, title, icon, section in PAGES:
    if (HERE / path).exists():
        page = st.Page(path, title=title, icon=icon, default=path == "app_pages/overview.py")
        sections.setdefault(section, []).append(page)

st.navigation(sections).run()
