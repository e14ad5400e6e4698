#!/usr/bin/env python3
"""Render t1071-replay --report in Debian's Chromium (issue 18).

usage: test-report-chromium.py T1071_REPLAY LOGDIR NAME INPUT EXPECTED_KEY [replay options...]

Runs the replay with --report, loads the file in headless Chromium
(--dump-dom, console on stderr) and checks: the DOM holds the expected key
in the table and a section, every key section has one <svg role="img"> per
chart with a <title>, no console errors or CSP refusals; saves a
screenshot (1366 wide) under LOGDIR.  Skips (exit 77) without chromium
unless T1071_NO_SKIP is set, then fails."""
import html.parser
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

replay, logdir, name, inp, expected = sys.argv[1:6]
extra = sys.argv[6:]

chromium = shutil.which('chromium') or shutil.which('chromium-browser')
if not chromium:
    if os.environ.get('T1071_NO_SKIP'):
        print('FAIL: no chromium (T1071_NO_SKIP is set; .ci/deps --tests installs it)')
        sys.exit(1)
    print('skipped: no chromium')
    sys.exit(77)

work = tempfile.mkdtemp(prefix='t1071-report-')
out = os.path.join(work, name + '.html')
t0 = time.monotonic()
p = subprocess.run([replay, '--output', 'none', '--report', out] + extra + [inp],
                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
gen_s = time.monotonic() - t0
if p.returncode != 0:
    print('FAIL: replay exited %d: %s' % (p.returncode, p.stderr))
    sys.exit(1)
size = os.path.getsize(out)
print('%s: report %d bytes, written in %.3f s' % (name, size, gen_s))
assert size <= 5 * 1024 * 1024, 'report over 5 MB'
src = open(out, encoding='utf-8').read()
assert "content=\"default-src 'none';" in src, 'no CSP meta'
assert not re.search(r'(src|href)\s*=\s*"(https?:)?//', src), 'a network reference'

base = [chromium, '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
        '--disable-component-update', '--disable-sync', '--no-first-run', '--hide-scrollbars']
prof = tempfile.mkdtemp(prefix='t1071-chromium-')
t0 = time.monotonic()
r = subprocess.run(base + ['--user-data-dir=' + prof, '--enable-logging=stderr', '--v=0',
                           '--window-size=1366,768', '--dump-dom', 'file://' + out],
                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120)
render_s = time.monotonic() - t0
dom = r.stdout
print('%s: rendered in %.2f s, DOM %d bytes' % (name, render_s, len(dom)))
errors = [l for l in r.stderr.splitlines()
          if re.search(r'CONSOLE|Uncaught|Refused to|Content Security Policy', l)]
if errors:
    print('FAIL: console errors:\n' + '\n'.join(errors[:20]))
    sys.exit(1)


class Walk(html.parser.HTMLParser):
    """Collects the key sections and their charts' titles."""

    def __init__(self):
        super().__init__()
        self.stack = []
        self.articles = []      # [key, [chart kinds], [titles]]
        self.svg = None
        self.in_title = False
        self.table_keys = []
        self.in_table = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == 'table' and a.get('id') == 'key-table':
            self.in_table = True
        if tag == 'tr' and self.in_table and 'data-key' in a:
            self.table_keys.append(a['data-key'])
        if tag == 'article' and 'key' in (a.get('class') or '').split():
            self.articles.append([a.get('data-key'), [], []])
        if tag == 'svg' and self.articles:
            assert a.get('role') == 'img', 'svg without role=img'
            self.svg = a.get('data-chart')
            self.articles[-1][1].append(self.svg)
        if tag == 'title' and self.svg is not None:
            self.in_title = True
            self.articles[-1][2].append('')

    def handle_endtag(self, tag):
        if tag == 'svg':
            self.svg = None
        if tag == 'title':
            self.in_title = False
        if tag == 'table':
            self.in_table = False

    def handle_data(self, data):
        if self.in_title:
            self.articles[-1][2][-1] += data


w = Walk()
w.feed(dom)
ok = True
if 'data-rendered' not in dom:
    print('FAIL: the script did not finish (no data-rendered)')
    ok = False
if 'data-hscroll="false"' not in dom:
    print('FAIL: the page scrolls horizontally at 1366 px')
    ok = False
if expected not in w.table_keys:
    print('FAIL: key %r not in the table (%s)' % (expected, w.table_keys[:10]))
    ok = False
arts = {a[0]: a for a in w.articles}
if expected not in arts:
    print('FAIL: no section for key %r' % expected)
    ok = False
for key, kinds, titles in w.articles:
    if not kinds:
        continue  # a key without history says so in text
    for need in ('timeline', 'intervals', 'components'):
        if kinds.count(need) != 1:
            print('FAIL: key %r has %d %s charts' % (key, kinds.count(need), need))
            ok = False
    if len(titles) != len(kinds) or not all(t.strip() for t in titles):
        print('FAIL: key %r: a chart without a title' % key)
        ok = False
if expected in arts and not arts[expected][1]:
    print('FAIL: expected key %r has no charts' % expected)
    ok = False
print('%s: %d keys in the table, %d sections, %d charts' %
      (name, len(w.table_keys), len(w.articles), sum(len(a[1]) for a in w.articles)))

os.makedirs(logdir, exist_ok=True)
shot = os.path.join(logdir, 'report-%s.png' % name)
subprocess.run(base + ['--user-data-dir=' + prof, '--window-size=1366,2400',
                       '--screenshot=' + shot, 'file://' + out],
               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
if not os.path.exists(shot) or os.path.getsize(shot) == 0:
    print('FAIL: no screenshot')
    ok = False
else:
    print('%s: screenshot %s (%d bytes)' % (name, shot, os.path.getsize(shot)))
pdf = os.path.join(logdir, 'report-%s.pdf' % name)
subprocess.run(base + ['--user-data-dir=' + prof, '--no-pdf-header-footer',
                       '--print-to-pdf=' + pdf, 'file://' + out],
               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
if not os.path.exists(pdf) or open(pdf, 'rb').read(5) != b'%PDF-':
    print('FAIL: no printed PDF (print stylesheet)')
    ok = False
else:
    print('%s: printed %s (%d bytes)' % (name, pdf, os.path.getsize(pdf)))
shutil.copy(out, os.path.join(logdir, 'report-%s.html' % name))
shutil.rmtree(prof, ignore_errors=True)
shutil.rmtree(work, ignore_errors=True)
sys.exit(0 if ok else 1)
