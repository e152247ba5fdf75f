"""The docs site, as a reader sees it: `tools/build-site` builds it into docs/, a local server serves it, and headless
Chromium (Debian's `chromium` package, which `make browser` installs; Playwright drives it, it never downloads one)
opens every page. Screenshots of the home page and a lesson go to out/test-site/."""
import functools, http.server, importlib.machinery, importlib.util, json, re, subprocess, sys, tempfile, threading, time
import urllib.error, urllib.request
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlparse
import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS, SHOTS = ROOT/'docs', ROOT/'out'/'test-site'
CHROMIUM = '/usr/bin/chromium'
ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync']

def build_site_module():
    "tools/build-site as a module (its notebook order and page names)"
    loader = importlib.machinery.SourceFileLoader('build_site', str(ROOT/'tools'/'build-site'))
    spec = importlib.util.spec_from_loader('build_site', loader)
    m = importlib.util.module_from_spec(spec); loader.exec_module(m)
    return m

class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args): pass

@pytest.fixture(scope='module')
def site():
    "Build docs/ with tools/build-site and serve it on 127.0.0.1 (an ephemeral port); yields the base URL"
    t0 = time.time()
    r = subprocess.run([sys.executable, str(ROOT/'tools'/'build-site')], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, f'tools/build-site failed:\n{r.stdout[-2000:]}\n{r.stderr[-4000:]}'
    print(f'build: {time.time() - t0:.0f} s wall; {r.stdout.strip()}')
    if r.stderr.strip(): print(r.stderr.strip())
    srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), functools.partial(QuietHandler, directory=str(DOCS)))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f'http://127.0.0.1:{srv.server_port}/'
    srv.shutdown(); srv.server_close()

@pytest.fixture(scope='module')
def browser():
    "Headless Chromium with a fresh profile"
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: the docs test needs Debian's chromium package. Install it with `make browser` "
                    "(apt-get install chromium); `make test` does.", pytrace=False)
    from playwright.sync_api import sync_playwright
    with tempfile.TemporaryDirectory(prefix='xrayood-chromium-') as profile, sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(profile, executable_path=CHROMIUM, headless=True, args=ARGS,
                                                   viewport={'width': 1280, 'height': 900})
        yield ctx
        ctx.close()

def watch(page, base, log):
    "Record console errors, page errors and requests to any host but the local server"
    host = urlparse(base).netloc
    page.on('console', lambda m: m.type == 'error' and log['console'].append(f'{page.url}: {m.text}'))
    page.on('pageerror', lambda e: log['pageerror'].append(f'{page.url}: {e}'))
    def on_request(req):
        u = urlparse(req.url)
        if u.scheme in ('http', 'https', 'ws', 'wss') and u.netloc != host: log['external'].append(f'{page.url}: {req.url}')
    page.on('request', on_request)
    page.on('response', lambda r: r.status >= 400 and log['missing'].append(f'{page.url}: {r.url} -> {r.status}'))
    # ERR_ABORTED: a load cut short by going on to the next page (e.g. the search worker); a missing file is a 404 above
    page.on('requestfailed', lambda r: 'ERR_ABORTED' not in (r.failure or '') and
            log['missing'].append(f'{page.url}: {r.url} -> {r.failure}'))

def code_cells(nb, directive):
    "The code of `nb`'s cells flagged `#| directive`, as it would show: without its `#|` lines"
    for c in json.loads(Path(nb).read_text())['cells']:
        lines = ''.join(c['source']).splitlines()
        if c['cell_type'] == 'code' and any(re.fullmatch(rf'#\|\s*{directive}\s*', l.strip()) for l in lines):
            code = '\n'.join(l for l in lines if not re.match(r'\s*#\|', l)).strip()
            if code: yield code

def status(url):
    try:
        with urllib.request.urlopen(url, timeout=10) as r: return r.status, r.read().decode('utf-8', 'replace')
    except urllib.error.HTTPError as e: return e.code, ''

def test_every_page(browser, site):
    "Every page loads without console errors or page errors, shows its images, loads nothing from the internet, and every internal link works"
    pages = sorted(p.relative_to(DOCS).as_posix() for p in DOCS.rglob('*.html'))
    bs = build_site_module()
    nbs = bs.notebooks()
    # every notebook's page (the home page, the lessons, pages like the benchmarks), and the API pages of the lessons' modules
    assert len(bs.lessons()) >= 18 and len(pages) >= len(nbs) + len(bs.lessons()) - 1, pages
    log = {'console': [], 'pageerror': [], 'external': [], 'missing': []}
    links, images, hidden, codes = {}, [], [], {}
    page = browser.new_page()
    watch(page, site, log)
    t0 = time.time()
    for p in pages:
        r = page.goto(site + p, wait_until='load')
        assert r.ok, (p, r.status)
        for href in page.eval_on_selector_all('a[href]', 'es => es.map(e => e.href)'):
            if href.startswith(site): links.setdefault(href, p)
        for src, complete, width in page.eval_on_selector_all(
                'img', 'es => es.map(e => [e.currentSrc || e.src, e.complete, e.naturalWidth])'):
            if not (complete and width > 0): images.append(f'{p}: {src}')
        codes[p] = {c.strip() for c in page.eval_on_selector_all('pre code', 'es => es.map(e => e.textContent)')}
        hidden += [f'{p}: {c[:80]!r}' for c in codes[p] if re.search(r'^\s*#\|', c, re.M)]  # nbdev directives never show
    for nb in nbs:  # `#| hide` cells do not show (Colab's install cell, tests); `#| export` cells show their code
        p = bs.page_name(nb) + '.html'
        hidden += [f'{p}: #| hide cell shown: {c[:80]!r}' for c in code_cells(nb, 'hide') if c in codes[p]]
        hidden += [f'{p}: #| export cell not shown: {c[:80]!r}' for c in code_cells(nb, 'export') if c not in codes[p]]
    print(f'{len(pages)} pages in {time.time() - t0:.0f} s, {len(links)} internal links')
    broken, texts = [], {}
    for href, on in sorted(links.items()):
        url, frag = urldefrag(href)
        if url not in texts: texts[url] = status(url)
        code, html = texts[url]
        if code != 200: broken.append(f'{on}: {href} -> {code}')
        elif frag and url.endswith('.html') and f'id="{unquote(frag)}"' not in html: broken.append(f'{on}: {href} -> no such anchor')
    problems = {'console errors': log['console'], 'page errors': log['pageerror'], 'requests to external hosts': log['external'],
                'failed loads': log['missing'], 'images not shown': images, 'broken internal links': broken,
                'nbdev directives, hidden or exported cells': hidden}
    if any(problems.values()):
        pytest.fail('\n'.join(f'{k}:\n  ' + '\n  '.join(v) for k, v in problems.items() if v), pytrace=False)

def test_navigation_in_course_order(browser, site):
    "The home page comes first, then every lesson by its number with its title, then the other pages (benchmarks), then the API reference of every module"
    bs = build_site_module()
    want = [bs.page_name(nb) + '.html' for nb in bs.notebooks()]
    page = browser.new_page()
    page.goto(site + 'index.html')
    hrefs = page.eval_on_selector_all('nav.md-nav--primary a.md-nav__link[href]', 'es => es.map(e => e.getAttribute("href"))')
    lessons = [h for h in hrefs if h.endswith('.html') and not h.startswith('api/')]
    assert [h for h in dict.fromkeys(lessons)] == want, lessons
    first_api = min(i for i, h in enumerate(hrefs) if h.startswith('api/'))
    assert all(hrefs.index(p) < first_api for p in want), hrefs  # the API reference comes last
    titles = page.eval_on_selector_all('nav.md-nav--primary a.md-nav__link[href]', 'es => es.map(e => e.textContent.trim())')
    assert '13. OOD detectors' in titles and '14. The OOD benchmark' in titles, titles   # the file's number, as in the README
    numbered = list(dict.fromkeys(t.split('.')[0] for t in titles if re.match(r'\d+\. ', t)))
    assert numbered == [str(int(nb.name.split('_')[0])) for nb in bs.lessons()], numbered
    mods = {p.stem for p in (ROOT/'xrayood').glob('*.py') if not p.name.startswith('_')}
    api = {t for t in titles if t.startswith('xrayood.')}
    assert api == {f'xrayood.{m}' for m in mods}, (api, mods)

def test_lesson_content(browser, site):
    "A lesson has its outputs, nbdev's show_doc entries after the exported code, and a local Colab badge linking to Colab"
    page = browser.new_page()
    page.goto(site + 'ood.html')
    assert page.title().startswith('13. OOD detectors')   # the nav label: the file's number and the lesson's title
    assert page.locator('.nbdev-doc h3#mahalanobis').count() == 1
    assert page.locator('.highlight[class*=python] .filename:text("xrayood/ood.py")').count() >= 5  # exported source
    assert page.locator('img.nb-figure').count() >= 1 and page.locator('.nb-output').count() >= 3
    badge = page.locator('a[href^="https://colab.research.google.com/github/"] img')
    assert badge.count() == 1 and badge.get_attribute('src') == 'assets/colab-badge.svg'
    page.goto(site + 'api/ood.html')
    assert page.locator('.nbdev-doc h4#detector\\.fit').count() == 1  # the API page adds each class's methods
    page.goto(site + 'api/gate.html')   # show_doc as nbdev shows it: a class as a class, then a parameter table from the docments
    entry = page.locator('.nbdev-doc:has(h3#gatedpredictor)')
    assert entry.locator('code').first.text_content().startswith('class GatedPredictor(learn, ')
    assert entry.locator('th').all_text_contents()[1:] == ['Type', 'Default', 'Details']
    row = entry.locator('tr:has(td:text-is("detector"))').locator('td').all_text_contents()
    assert row[1:3] == ['str', "'mahalanobis++'"] and row[3].startswith('Familiarity to the training X-rays'), row
    assert '# A trained classifier' not in entry.text_content()   # docments in the table, not as comments in the signature

def test_search(browser, site):
    "Typing in the search box finds the lessons that mention a word"
    page = browser.new_page()
    page.goto(site + 'index.html')
    page.click('input.md-search__input')
    page.keyboard.type('Mahalanobis')
    results = page.locator('.md-search-result__item')
    results.first.wait_for(timeout=15_000)
    hrefs = page.eval_on_selector_all('.md-search-result__item a', 'es => es.map(e => e.getAttribute("href"))')
    assert any(urlparse(h).path.endswith('/ood.html') for h in hrefs), hrefs

def test_screenshots(browser, site):
    "Screenshots of the home page and of the OOD detectors lesson (its top and its first figure), in out/test-site/"
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page()
    page.goto(site + 'index.html')
    page.screenshot(path=SHOTS/'home.png')
    page.goto(site + 'ood.html')
    page.screenshot(path=SHOTS/'lesson-ood.png')
    page.locator('img.nb-figure').first.scroll_into_view_if_needed()
    page.wait_for_timeout(500)  # the header's title change on scrolling is animated
    page.screenshot(path=SHOTS/'lesson-ood-figure.png')
    for f in ('home.png', 'lesson-ood.png', 'lesson-ood-figure.png'): assert (SHOTS/f).stat().st_size > 20_000, f

def test_deploy_publishes_the_tested_site():
    "GitHub Pages gets the folder this test builds and checks (docs/), after this test passed: one site, not a second build"
    import yaml
    wf = yaml.safe_load((ROOT/'.github'/'workflows'/'deploy.yaml').read_text())
    steps = [s for j in wf['jobs'].values() for s in j.get('steps', [])]
    runs = [s.get('run', '') for s in steps]
    assert not any('quarto' in str(s) for s in steps), 'no quarto build: quarto is not what make docs builds'
    test_at = next(i for i, r in enumerate(runs) if 'tests/test_site.py' in r)
    upload = next(i for i, s in enumerate(steps) if 'upload-pages-artifact' in s.get('uses', ''))
    assert test_at < upload and (ROOT/steps[upload]['with']['path']).resolve() == DOCS
    assert any('deploy-pages' in s.get('uses', '') for s in steps)
