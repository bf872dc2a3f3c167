"""The course book: every notebook rendered to HTML, checked in a real browser."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from encmed_lib import course
from encmed_lib.data.paths import figures_dir

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


@pytest.fixture(scope="module")
def book(tmp_path_factory) -> Path:
    """Render the committed notebooks (they carry their outputs) into a temporary book."""
    return course.render_book(course.NOTEBOOKS_DIR, tmp_path_factory.mktemp("book"))


def test_index_links_every_notebook_with_its_title(book):
    html = book.read_text()
    links = re.findall(r'<a href="([^"]+)">([^<]+)</a>', html)
    assert [href for href, _ in links] == [p.with_suffix(".html").name for p in course.notebooks()]
    for href, title in links:
        assert (book.parent / href).is_file()
        assert title[:2].isdigit(), title  # "01 · The data", not a file name


def test_pages_embed_their_figures(book):
    page = (book.parent / "02_tree.html").read_text()
    assert page.count('src="data:image/png;base64,') >= 3


def test_render_refuses_an_empty_folder(tmp_path):
    with pytest.raises(SystemExit, match="no executed notebooks"):
        course.render_book(tmp_path / "empty", tmp_path / "out")


@pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER),
                    reason="Chromium or chromedriver absent (Debian packages chromium, chromium-driver); "
                           ".ci/run installs them")
def test_book_in_headless_chromium(book, tmp_path):
    """Open the index, follow a link, and check the figures really rendered (and screenshot it)."""
    from PIL import Image
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--window-size=1280,2000",
                 f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        driver.get(book.as_uri())
        assert "encmed" in driver.title
        driver.find_elements(By.CSS_SELECTOR, "#notebooks a")[1].click()  # follow the link to 02
        assert driver.current_url.endswith("02_tree.html")
        rendered = driver.execute_script(
            "return Array.from(document.images).filter(i => i.complete && i.naturalWidth > 0).length")
        assert rendered >= 3, "the figures did not render"
        figure = driver.find_elements(By.CSS_SELECTOR, "img")[0]
        driver.execute_script("arguments[0].scrollIntoView();", figure)
        shot = figures_dir() / "book_screenshot.png"  # a temporary folder during test runs
        assert driver.save_screenshot(str(shot))
    finally:
        driver.quit()
    with Image.open(shot) as img:
        colours = img.convert("RGB").getcolors(maxcolors=1 << 20)
    assert colours is None or len(colours) > 50, "the screenshot is blank"
