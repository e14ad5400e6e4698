#!/usr/bin/env python3
"""Hostile content in t1071-replay --report (issue 18): process names,
executables, domains, host names and the key itself carrying <script>,
</script>, quotes, U+2028/U+2029, control characters and a string near the
event size limit.  Greps the file: no markup from the events anywhere (HTML
text, attributes, the embedded JSON that becomes SVG text), the data block
parses as JSON and gives back every hostile string exactly.

usage: test-report-hostile.py T1071_REPLAY"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

replay = sys.argv[1]
work = tempfile.mkdtemp(prefix='t1071-hostile-')
HOST = 'ws"\'<b onmouseover=alert(1)>&amp;'
NAMES = [
    '<script>alert(1)</script>.exe',
    '</script><script>alert(2)</script>',
    'q"uote\'s \u2028line\u2029para',
    'ctl\x01\x07\x1b[31m\x7fend',
    'svg</text><foreignObject><img src=x onerror=alert(3)>',
    'L' * 60000,  # the event limit is 65,536 encoded bytes
]
DOMAINS = ['</script>.evil.example', 'a"b\'c<d>e&f.example', 'x\u2028y.example']
base_ts = 1732780800  # 2024-11-28T08:00:00Z
lines = []
for k, name in enumerate(NAMES):
    key = 'EID<script>%d</script>"\u2028' % k
    for i in range(14):
        ts = base_ts + k * 7200 + i * 60
        ev = {
            '@timestamp': '2024-11-28T%02d:%02d:%02d.000Z' % ((ts - base_ts + 8 * 3600) // 3600 % 24,
                                                               (ts // 60) % 60, ts % 60),
            'event': {'id': 'h%d-%d' % (k, i), 'kind': 'event', 'category': ['network'],
                      'type': ['start'], 'action': 'connection_attempted'},
            'network': {'direction': 'egress', 'transport': 'tcp'},
            'source': {'ip': '10.20.0.17', 'port': 50000 + i},
            'destination': {'ip': '203.0.113.%d' % (k + 1), 'port': 443,
                            'domain': DOMAINS[k % len(DOMAINS)]},
            'process': {'entity_id': key, 'pid': 4000 + k, 'name': name,
                        'executable': 'C:\\<script>\\' + name[:200]},
            'host': {'name': HOST, 'id': 'h<i>' + str(k)},
        }
        lines.append(json.dumps(ev, ensure_ascii=False))
inp = os.path.join(work, 'hostile <script>.ndjson')
with open(inp, 'w', encoding='utf-8') as f:
    f.write('\n'.join(lines) + '\n')
out = os.path.join(work, 'r.html')
p = subprocess.run([replay, '--profile', 'tuned', '--set', 'tuning.emit_suppressed=true',
                    '--set', 'tuning.suppress_period=0s', '--output', 'none', '--report', out, inp],
                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
if p.returncode != 0:
    print('FAIL: replay exited %d: %s' % (p.returncode, p.stderr.decode(errors='replace')))
    sys.exit(1)
raw = open(out, 'rb').read()
src = raw.decode('utf-8')
bad = []


def check(cond, what):
    if not cond:
        bad.append(what)


# Markup: exactly our own elements, whatever the events said.
check(len(re.findall(r'<script', src, re.I)) == 2, '<script count %d' % len(re.findall(r'<script', src, re.I)))
check(len(re.findall(r'</script', src, re.I)) == 2, '</script count')
check(len(re.findall(r'<style', src, re.I)) == 1, '<style count')
for tag in ('<b ', '<img', '<foreignobject', '<i>', '</text>', 'onmouseover=', 'onerror='):
    if tag.startswith('on'):
        check(not re.search(r'<[^>]*' + tag, src, re.I), 'attribute %s inside a tag' % tag)
    else:
        check(tag not in src.lower(), 'raw %r' % tag)
check('\u2028' not in src and '\u2029' not in src, 'raw U+2028/U+2029')
check(not re.search(r'[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]', src), 'raw control characters')
# HTML text and attributes: the input file name and the title.
check('hostile &lt;script&gt;.ndjson' in src, 'file name not escaped as HTML text')
# The data block: valid JSON that gives back the hostile strings exactly.
m = re.search(r'<script type="application/json" id="t1071-data">(.*?)</script>', src, re.S)
check(m is not None, 'no data block')
if m:
    block = m.group(1)
    check('<' not in block and '>' not in block and '&' not in block, 'raw < > & in the data block')
    data = json.loads(block)
    names = set()
    keys = set()
    for k in data['keys']:
        names.add(k['alert']['process']['name'])
        keys.add(k['alert']['t1071']['key'])
        check(k['alert']['host']['name'] == HOST, 'host name changed')
        if k['history']:
            check(k['history']['key'] == k['alert']['t1071']['key'], 'history key differs')
            for d in k['history']['beacon']['destinations']:
                check(d['destination'] in DOMAINS, 'destination %r changed' % d['destination'][:40])
    for n in NAMES:
        check(n in names, 'process name %r not given back' % n[:40])
    for k in range(len(NAMES)):
        check('EID<script>%d</script>"\u2028' % k in keys, 'key %d not given back' % k)
check(len(raw) <= 5 * 1024 * 1024, 'over 5 MB')
# The key bound: --report-keys 2 keeps two keys and says how many it left out.
out2 = os.path.join(work, 'r2.html')
p = subprocess.run([replay, '--profile', 'tuned', '--set', 'tuning.emit_suppressed=true',
                    '--set', 'tuning.suppress_period=0s', '--output', 'none', '--report', out2,
                    '--report-keys', '2', inp], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
check(p.returncode == 0, '--report-keys 2 failed')
if p.returncode == 0:
    src2 = open(out2, encoding='utf-8').read()
    m2 = re.search(r'<script type="application/json" id="t1071-data">(.*?)</script>', src2, re.S)
    d2 = json.loads(m2.group(1))
    check(len(d2['keys']) == 2, '--report-keys 2 kept %d keys' % len(d2['keys']))
    total = d2['keys_total']
    check('2 of %d alerting keys shown' % total in src2 and '%d left out' % (total - 2) in src2,
          'the report does not say how many keys it left out')
# Rendered, when Chromium is here (the chromium tests require it): the
# hostile strings stay text, no element they name exists.
chromium = shutil.which('chromium')
if chromium:
    prof = tempfile.mkdtemp(prefix='t1071-chromium-')
    r = subprocess.run([chromium, '--headless', '--no-sandbox', '--disable-gpu',
                        '--disable-background-networking', '--disable-component-update',
                        '--disable-sync', '--no-first-run', '--user-data-dir=' + prof,
                        '--enable-logging=stderr', '--v=0', '--window-size=1366,768',
                        '--dump-dom', 'file://' + out],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120)
    dom = r.stdout
    check('data-rendered="' in dom, 'the script did not finish on hostile input')
    for tag in ('<img', '<foreignobject', '<b ', '<i>'):
        check(tag not in dom.lower(), 'rendered DOM holds %r' % tag)
    check(len(re.findall(r'<script', dom, re.I)) == 2, 'rendered DOM has extra scripts')
    check('&lt;script&gt;alert(1)&lt;/script&gt;.exe' in dom, 'hostile name not shown as text')
    errs = [l for l in r.stderr.splitlines() if re.search(r'CONSOLE|Uncaught|Refused to', l)]
    check(not errs, 'console: %s' % errs[:3])
    shutil.rmtree(prof, ignore_errors=True)
shutil.rmtree(work, ignore_errors=True)
if bad:
    print('FAIL:\n  ' + '\n  '.join(bad))
    sys.exit(1)
print('ok: %d bytes, %d keys, every hostile string escaped and given back' % (len(raw), len(NAMES)))
