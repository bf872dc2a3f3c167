"""The course book (Sphinx + myst-nb + sphinx-book-theme), built from the committed notebooks, read offline.

The static checks (nothing remote, every link and image resolves, the table of contents, the
student part, the figures) read the built HTML and run everywhere; the browser test opens every
page in headless Chromium with the network switched off and checks what a reader sees: math
typeset (no raw ``$``), images decoded, links resolved, no request leaving the machine.
"""

from __future__ import annotations

import html
import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlsplit

import nbformat
import pytest

from encmed_lib import book, course
from encmed_lib.labs.students import STUB

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
NOTEBOOKS = course.notebooks()
REMOTE = re.compile(r"^\s*(?!file:)(?:[a-z][a-z0-9+.-]*:)?//", re.I)  # http://, https://, //host, ws://...
#: Requests that never leave the machine (chrome:// is the browser's own error and new-tab pages).
LOCAL_SCHEMES = ("file", "data", "blob", "about", "chrome")
#: Elements that make the browser fetch something, and the attribute that says what.
FETCHING = {"script": "src", "link": "href", "img": "src", "source": "src", "iframe": "src",
            "video": "src", "audio": "src", "embed": "src", "object": "data"}


class _Page(HTMLParser):
    """The parts of one HTML page the checks need: ids, fetched resources, link targets."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.fetched: list[tuple[str, str]] = []
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for key in ("id", "name") if tag == "a" else ("id",):
            if attrs.get(key):
                self.ids.add(attrs[key])
        if tag in FETCHING and attrs.get(FETCHING[tag]):
            self.fetched.append((tag, attrs[FETCHING[tag]]))
        if tag == "link" and attrs.get("imagesrcset"):
            self.fetched.append((tag, attrs["imagesrcset"]))
        if tag == "a" and attrs.get("href") is not None:
            self.hrefs.append(attrs["href"])


def _parse(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def _text(path: Path) -> str:
    """A page's text without tags (code split into highlighted tokens comes back together)."""
    return html.unescape(re.sub(r"<[^>]+>", "", path.read_text(encoding="utf-8")))


@pytest.fixture(scope="module")
def index(tmp_path_factory) -> Path:
    """Build the book from the committed notebooks (stored outputs, nothing executed)."""
    return book.build_book(course.NOTEBOOKS_DIR, tmp_path_factory.mktemp("book") / "book")


@pytest.fixture(scope="module")
def pages(index) -> list[Path]:
    found = sorted(p for p in index.parent.rglob("*.html") if "_static" not in p.parts)  # not templates
    assert index in found and len(found) >= 2 * len(NOTEBOOKS) + 1
    return found


def _link_problem(page: Path, href: str, root: Path) -> str | None:
    """Why ``href`` on ``page`` does not lead to an existing file (and anchor), or ``None``."""
    url, fragment = urldefrag(href)
    parts = urlsplit(url)
    if parts.scheme in ("mailto", "javascript", "data") or REMOTE.match(href):
        return None
    if parts.scheme == "file":
        target = Path(unquote(parts.path))
    else:
        target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
    if target.is_dir():
        target = target / "index.html"
    if not target.is_file():
        return f"{page.relative_to(root)}: {href} -> missing file"
    if root.resolve() not in target.resolve().parents:
        return f"{page.relative_to(root)}: {href} -> outside the book"
    if fragment and target.suffix == ".html" and unquote(fragment) not in _parse(target).ids:
        return f"{page.relative_to(root)}: {href} -> no anchor #{fragment}"
    return None


def test_no_page_or_stylesheet_fetches_anything_remote(index, pages):
    remote = [f"{p.relative_to(index.parent)}: <{tag}> {url}"
              for p in pages for tag, url in _parse(p).fetched if REMOTE.match(url)]
    assert remote == []
    for css in index.parent.rglob("*.css"):
        code = re.sub(r"/\*.*?\*/", "", css.read_text(encoding="utf-8"), flags=re.S)
        urls = re.findall(r"""(?:url\(\s*['"]?|@import\s+['"])([^'")\s]+)""", code)
        assert [u for u in urls if REMOTE.match(u)] == [], css.name


def test_mathjax_is_the_local_copy(index):
    page = (index.parent / "solutions" / "03_paillier_basics.html").read_text(encoding="utf-8")
    scripts = re.findall(r'<script[^>]*src="([^"]*tex-svg[^"]*)"', page)
    assert scripts and all(not REMOTE.match(s) for s in scripts)
    assert (index.parent / "_static" / "tex-svg-full.js").stat().st_size > 1_000_000
    assert page.count('class="math') > 20  # the notebook's $...$ became math nodes for MathJax


def test_every_internal_link_and_image_resolves(index, pages):
    problems, checked = [], 0
    for page in pages:
        parsed = _parse(page)
        targets = parsed.hrefs + [url for tag, url in parsed.fetched if tag in ("img", "script")]
        for href in targets:
            checked += 1
            problems.append(_link_problem(page, href, index.parent))
    assert [p for p in problems if p] == []
    assert checked > 50 * len(NOTEBOOKS)


def test_toc_lists_every_notebook_then_its_student_version(index):
    tocs = re.findall(r'<div class="toctree-wrapper compound">(.*?)</div>', index.read_text(encoding="utf-8"),
                      re.S)
    assert len(tocs) == 2
    for toc, (section, caption) in zip(tocs, [("solutions", "Course notebooks"),
                                              ("students", "Student versions")], strict=True):
        assert caption in re.search(r'<span class="caption-text">([^<]*)</span>', toc)[1]
        links = re.findall(r'<a class="reference internal" href="([^"]+)">([^<]+)</a>', toc)
        assert [href for href, _ in links] == [f"{section}/{p.stem}.html" for p in NOTEBOOKS]
        for (_, title), path in zip(links, NOTEBOOKS, strict=True):
            assert title.startswith(path.name[:2]), title  # "01 · The data", not a file name


def test_every_page_shows_the_table_of_contents(index, pages):
    for page in (index.parent / "solutions" / NOTEBOOKS[0].with_suffix(".html").name,
                 index.parent / "students" / NOTEBOOKS[-1].with_suffix(".html").name):
        text = page.read_text(encoding="utf-8")
        assert "Student versions" in text and "Course notebooks" in text
        assert all(f"{p.stem}.html" in text for p in NOTEBOOKS)


def _png_outputs(path: Path) -> int:
    nb = nbformat.read(path, as_version=4)
    return sum("image/png" in out.get("data", {}) for cell in nb.cells if cell.cell_type == "code"
               for out in cell.outputs)


def test_solution_pages_carry_every_figure_and_student_pages_none(index):
    assert sum(_png_outputs(p) for p in NOTEBOOKS) >= 10
    for path in NOTEBOOKS:
        solution = index.parent / "solutions" / f"{path.stem}.html"
        student = index.parent / "students" / f"{path.stem}.html"
        assert [tag for tag, _ in _parse(solution).fetched].count("img") == _png_outputs(path), path.name
        assert [tag for tag, _ in _parse(student).fetched].count("img") == 0, path.name


def test_student_pages_are_the_student_versions_and_cross_linked(index):
    stubs = 0
    for path in NOTEBOOKS:
        solution = index.parent / "solutions" / f"{path.stem}.html"
        student = index.parent / "students" / f"{path.stem}.html"
        text = _text(student)
        assert "BEGIN SOLUTION" not in text and "END SOLUTION" not in text
        stubs += text.count(STUB)
        assert f"../students/{path.stem}.html" in _parse(solution).hrefs
        assert f"../solutions/{path.stem}.html" in _parse(student).hrefs
        assert "colab-badge.svg" not in solution.read_text(encoding="utf-8")
    assert stubs >= len(NOTEBOOKS)  # every notebook has exercises; their solutions are stubs here


def test_prose_mentions_of_notebooks_become_links_between_pages(index):
    solution = _parse(index.parent / "solutions" / "03_paillier_basics.html").hrefs
    student = _parse(index.parent / "students" / "03_paillier_basics.html").hrefs
    assert "04_encrypted_server.html" in solution and "02_tree.html" in solution
    assert "04_encrypted_server.html" in student  # within the student part, not to the solutions


def test_link_mentions_leaves_code_math_comments_and_links_alone():
    names = {"01": "01_data.ipynb", "04": "04_server.ipynb"}
    assert book.link_mentions("Notebook 01 loaded; notebook 04 next, notebook 09 not here.", names) == (
        "[Notebook 01](01_data.ipynb) loaded; [notebook 04](04_server.ipynb) next, notebook 09 not here.")
    for kept in ("`notebook 04`", "$\\text{notebook 04}$", "[notebook 04](04_server.ipynb)",
                 "<!-- notebook 04 -->", "```\nnotebook 01\n```", "notebooks/04_server.ipynb",
                 "notebook 045"):
        assert book.link_mentions(kept, names) == kept


def _tiny_notebook(path: Path, markdown: str) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata.kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata.language_info = {"name": "python"}
    nb.cells = [nbformat.v4.new_markdown_cell(markdown), nbformat.v4.new_code_cell("1 + 1")]
    nbformat.write(nb, path)


def test_a_broken_cross_link_fails_the_build(tmp_path):
    src = tmp_path / "notebooks"
    src.mkdir()
    _tiny_notebook(src / "01_a.ipynb", "# 01 · A\n\n## First part\n\nSee [the next one](02_b.ipynb).")
    _tiny_notebook(src / "02_b.ipynb", "# 02 · B\n\nBack to [the first part](01_a.ipynb#first-part).")
    built = book.build_book(src, tmp_path / "ok")
    second = built.parent / "solutions" / "02_b.html"
    assert _link_problem(second, "../solutions/01_a.html#first-part", built.parent) is None
    assert "01_a.html#first-part" in "".join(_parse(second).hrefs)
    (src / "02_b.ipynb").unlink()
    with pytest.raises(RuntimeError, match="could not build"):
        book.build_book(src, tmp_path / "broken")
    assert not (tmp_path / "broken").exists()


def test_build_refuses_an_empty_folder(tmp_path):
    with pytest.raises(SystemExit, match="no executed notebooks"):
        book.build_book(tmp_path / "empty", tmp_path / "out")
    assert not (tmp_path / "out").exists()


# --- in a real browser, offline -----------------------------------------------------------------

_INSPECT = r"""
const done = arguments[arguments.length - 1];
const ready = (window.MathJax && MathJax.startup && MathJax.startup.promise) || Promise.resolve();
ready.then(() => {
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const text = [];
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (!el.closest("pre, code, script, style, mjx-container") && el.getClientRects().length) {
      text.push(n.nodeValue);
    }
  }
  done({
    raw: [...text.join(" ").matchAll(/.{0,30}(\$|\\\(|\\\[|\\begin\{).{0,30}/gs)].map(m => m[0]),
    math: document.querySelectorAll("span.math, div.math").length,
    typeset: document.querySelectorAll("mjx-container").length,
    errors: document.querySelectorAll("mjx-merror, [data-mjx-error]").length,
    broken: Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src),
    images: document.images.length,
    links: Array.from(document.links).map(a => a.href),
  });
}, err => done({mathjax_failed: String(err)}));
"""


def _offline_chromium(profile: Path):
    """Headless Chromium with every network request blocked (file:// pages still load)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--no-first-run", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-proxy-server", "--window-size=1280,2000",
                 f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd("Network.setBlockedURLs", {"urls": ["http://*", "https://*", "ws://*", "wss://*"]})
    driver.execute_cdp_cmd("Network.emulateNetworkConditions", {
        "offline": True, "latency": 0, "downloadThroughput": 0, "uploadThroughput": 0})
    return driver


def _requested_urls(driver) -> list[str]:
    """Every URL the browser asked for since the last call (from the DevTools performance log)."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def _page_problems(page: Path, root: Path, seen: dict, requested: list[str]) -> list[str]:
    """What is wrong with one page as the browser rendered it (``seen``: :data:`_INSPECT`'s result)."""
    name = str(page.relative_to(root))
    if "mathjax_failed" in seen:
        return [f"{name}: MathJax failed: {seen['mathjax_failed']}"]
    problems = [f"{name}: raw math in the visible text: {raw!r}" for raw in seen["raw"]]
    if seen["typeset"] < seen["math"]:
        problems.append(f"{name}: {seen['math']} formulas, {seen['typeset']} typeset by MathJax")
    if seen["errors"]:
        problems.append(f"{name}: {seen['errors']} MathJax errors")
    problems += [f"{name}: image did not load: {src}" for src in seen["broken"]]
    problems += [p for p in (_link_problem(page, href, root) for href in seen["links"]) if p]
    problems += [f"{name}: requested {url}" for url in requested if urlsplit(url).scheme not in LOCAL_SCHEMES]
    return problems


@pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER),
                    reason="Chromium or chromedriver absent (Debian packages chromium, chromium-driver); "
                           ".ci/run installs them. The static checks of the book above still ran.")
def test_every_page_in_offline_headless_chromium(index, pages, tmp_path):
    from selenium.common.exceptions import WebDriverException

    driver = _offline_chromium(tmp_path / "profile")
    problems, formulas, images = [], 0, 0
    try:
        driver.set_script_timeout(60)
        with pytest.raises(WebDriverException, match="ERR_INTERNET_DISCONNECTED|ERR_BLOCKED"):
            driver.get("https://example.org/")  # the network really is off
        _requested_urls(driver)
        for page in pages:
            driver.get(page.as_uri())
            seen = driver.execute_async_script(_INSPECT)
            problems += _page_problems(page, index.parent, seen, _requested_urls(driver))
            formulas += seen.get("typeset", 0)
            images += seen.get("images", 0)
    finally:
        driver.quit()
    assert problems == []
    assert formulas > 500, "MathJax typeset (almost) nothing: is the math still there?"
    assert images == sum(_png_outputs(p) for p in NOTEBOOKS)
