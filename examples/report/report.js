(function () {
  'use strict';
  var NS = 'http://www.w3.org/2000/svg';
  var COLORS = ['#0b5cad', '#c4432b', '#2a8a3e', '#8a4fbf', '#b8860b', '#0f8a8a', '#d0348c', '#5b6770'];
  var data = JSON.parse(document.getElementById('t1071-data').textContent);
  var uid = 0;

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    for (var k in attrs) if (Object.prototype.hasOwnProperty.call(attrs, k)) e.setAttribute(k, attrs[k]);
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function sv(tag, attrs, text) {
    var e = document.createElementNS(NS, tag);
    for (var k in attrs) if (Object.prototype.hasOwnProperty.call(attrs, k)) e.setAttribute(k, String(attrs[k]));
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function dur(ms) {
    if (!isFinite(ms)) return '?';
    if (ms < 1000) return Math.round(ms) + ' ms';
    if (ms < 120000) return (ms / 1000).toFixed(1) + ' s';
    if (ms < 7200000) return (ms / 60000).toFixed(1) + ' min';
    return (ms / 3600000).toFixed(1) + ' h';
  }
  function num(x, d) { return typeof x === 'number' ? x.toFixed(d) : ''; }
  function iso(ms) { try { return new Date(ms).toISOString().replace('.000Z', 'Z'); } catch (e) { return String(ms); } }

  /* One chart: <svg role="img"> with <title> and <desc>, in a figure whose caption is the reading. */
  function chart(kind, title, reading, w, h) {
    var id = 'c' + (++uid);
    var fig = el('figure', { 'class': 'chart ' + kind });
    fig.appendChild(el('h4', null, title));
    var s = sv('svg', { role: 'img', viewBox: '0 0 ' + w + ' ' + h, 'aria-labelledby': id + 't ' + id + 'd', 'data-chart': kind });
    s.appendChild(sv('title', { id: id + 't' }, title));
    s.appendChild(sv('desc', { id: id + 'd' }, reading || ''));
    fig.appendChild(s);
    fig.appendChild(el('figcaption', { 'class': 'reading' }, reading || ''));
    return { fig: fig, svg: s };
  }
  function axis(s, x0, x1, y, left, right) {
    s.appendChild(sv('line', { x1: x0, x2: x1, y1: y, y2: y, stroke: '#8c959f' }));
    s.appendChild(sv('text', { x: x0, y: y + 13 }, left));
    s.appendChild(sv('text', { x: x1, y: y + 13, 'text-anchor': 'end' }, right));
  }

  function destName(d) {
    if (d.domain) return d.domain;
    if (d.ip) return d.ip + (d.port !== undefined ? ':' + d.port : '');
    return '?';
  }

  var rows = data.keys.map(function (k, i) {
    var a = k.alert || {}, t = a.t1071 || {}, b = t.beacon || {}, tu = t.tuning || {};
    var proc = a.process || {}, host = a.host || {};
    return {
      i: i, k: k, a: a, b: b, key: t.key || '', host: host.name || host.id || '',
      process: proc.name || '', exe: proc.executable || '',
      dests: (t.destinations || []).map(destName).join(', '),
      sequences: k.alerts, score: typeof b.score === 'number' ? b.score : -1,
      period: typeof b.period_ms === 'number' ? b.period_ms : -1,
      jitter: typeof b.jitter === 'number' ? b.jitter : -1,
      suppressed: !k.delivered,
      verdict: k.delivered ? 'alert' : 'suppressed: ' + (tu.reason || '?')
    };
  });

  var cols = [
    ['key', 'key', 's'], ['host', 'host', 's'], ['process', 'process', 's'], ['exe', 'executable', 's'],
    ['dests', 'destinations', 's'], ['sequences', 'sequences', 'n'], ['score', 'score', 'n'],
    ['period', 'period', 'n'], ['jitter', 'jitter', 'n'], ['verdict', 'verdict', 's']
  ];
  var sortBy = 'score', desc = true;

  function cell(r, c) {
    if (c === 'score') return r.score < 0 ? '' : r.score.toFixed(2);
    if (c === 'period') return r.period < 0 ? '' : dur(r.period);
    if (c === 'jitter') return r.jitter < 0 ? '' : Math.round(r.jitter * 100) + '%';
    return r[c];
  }

  function drawTable() {
    var host = document.getElementById('table');
    while (host.firstChild) host.removeChild(host.firstChild);
    var t = el('table', { 'class': 'keys', id: 'key-table' });
    var tr = el('tr');
    cols.forEach(function (c) {
      var th = el('th', { scope: 'col' });
      if (c[0] === sortBy) th.setAttribute('aria-sort', desc ? 'descending' : 'ascending');
      var btn = el('button', { type: 'button', 'data-sort': c[0] }, c[1] + (c[0] === sortBy ? (desc ? ' \u25bc' : ' \u25b2') : ''));
      btn.addEventListener('click', function () {
        if (sortBy === c[0]) desc = !desc; else { sortBy = c[0]; desc = c[2] === 'n'; }
        drawTable();
        var again = document.querySelector('button[data-sort="' + c[0] + '"]');
        if (again) again.focus();
      });
      th.appendChild(btn);
      tr.appendChild(th);
    });
    t.appendChild(el('thead')).appendChild(tr);
    var tb = el('tbody');
    var sorted = rows.slice().sort(function (x, y) {
      var a = x[sortBy], b = y[sortBy], c;
      c = typeof a === 'number' ? a - b : String(a).localeCompare(String(b));
      if (c === 0) c = x.i - y.i;
      return desc ? -c : c;
    });
    sorted.forEach(function (r) {
      var row = el('tr', { 'class': r.suppressed ? 'suppressed' : 'alerting', 'data-key': r.key });
      cols.forEach(function (c) {
        var td = el('td', { 'class': c[2] === 'n' ? 'num' : '' });
        if (c[0] === 'key') {
          td.appendChild(el('a', { href: '#k' + r.i }, r.key));
          if (r.suppressed) td.appendChild(el('span', { 'class': 'tag' }, 'suppressed'));
        } else {
          td.textContent = cell(r, c[0]);
        }
        row.appendChild(td);
      });
      tb.appendChild(row);
    });
    t.appendChild(tb);
    host.appendChild(t);
  }

  function pickPair(hist, b) {
    if (!hist || !hist.beacon) return null;
    var bc = hist.beacon;
    if (b.scope === 'destination')
      for (var i = 0; i < bc.destinations.length; i++)
        if (bc.destinations[i].destination === b.destination) return bc.destinations[i];
    return bc.aggregate || bc.destinations[0] || null;
  }

  function timeline(hist, pair) {
    var dests = hist.beacon.destinations, marks = [], legend = [];
    dests.forEach(function (d, j) {
      (d.beats_ms || []).forEach(function (t) { marks.push([t, j]); });
    });
    marks.sort(function (a, b) { return a[0] - b[0]; });
    var dropped = 0;
    if (marks.length > data.marks_max) { dropped = marks.length - data.marks_max; marks = marks.slice(dropped); }
    var reading = pair.readings.timeline + (dropped ? ' (the oldest ' + dropped + ' marks left out)' : '');
    var W = 600, H = 70 + 0, c = chart('timeline', 'Connections over time (one mark per beat, coloured by destination)', reading, W, H);
    if (!marks.length) return c.fig;
    var t0 = marks[0][0], t1 = marks[marks.length - 1][0], span = Math.max(1, t1 - t0);
    marks.forEach(function (m) {
      var x = 10 + (W - 20) * (m[0] - t0) / span;
      c.svg.appendChild(sv('line', { x1: x.toFixed(1), x2: x.toFixed(1), y1: 8, y2: 40, stroke: COLORS[m[1] % COLORS.length], 'stroke-width': 1.5 }));
    });
    axis(c.svg, 10, W - 10, 44, iso(t0), iso(t1));
    var lg = el('p', { 'class': 'legend' });
    dests.forEach(function (d, j) {
      lg.appendChild(el('span', { 'class': 'sw', 'data-c': j % COLORS.length }));
      lg.appendChild(document.createTextNode(d.destination + ' (' + d.events + ')'));
    });
    c.fig.insertBefore(lg, c.fig.lastChild);
    return c.fig;
  }

  function histogram(pair, periodMs) {
    var iv = pair.intervals_ms || [];
    var W = 600, H = 130, c = chart('intervals', 'Inter-arrival times the scorer used (estimated period marked)', pair.readings.intervals, W, H);
    if (!iv.length) return c.fig;
    var lo = Math.max(1, Math.min.apply(null, iv)), hi = Math.max(lo * 1.01, Math.max.apply(null, iv));
    var NB = 30, bins = [], L = Math.log(lo), R = Math.log(hi * 1.0001);
    for (var i = 0; i < NB; i++) bins.push(0);
    iv.forEach(function (v) { var k = Math.floor(NB * (Math.log(Math.max(v, lo)) - L) / (R - L)); bins[Math.min(NB - 1, Math.max(0, k))]++; });
    var top = Math.max.apply(null, bins), bw = (W - 20) / NB;
    bins.forEach(function (n, k) {
      if (!n) return;
      var h = 90 * n / top;
      c.svg.appendChild(sv('rect', { x: (10 + k * bw + 1).toFixed(1), y: (100 - h).toFixed(1), width: (bw - 2).toFixed(1), height: h.toFixed(1), fill: '#0b5cad' }));
    });
    if (periodMs > 0 && periodMs >= lo && periodMs <= hi * 1.0001) {
      var x = 10 + (W - 20) * (Math.log(periodMs) - L) / (R - L);
      c.svg.appendChild(sv('line', { x1: x.toFixed(1), x2: x.toFixed(1), y1: 4, y2: 100, stroke: '#c4432b', 'stroke-width': 2, 'stroke-dasharray': '4 3' }));
      c.svg.appendChild(sv('text', { x: Math.min(W - 80, x + 4).toFixed(1), y: 14, fill: '#c4432b' }, 'period ' + dur(periodMs)));
    }
    axis(c.svg, 10, W - 10, 104, dur(lo), dur(hi) + ' (log scale)');
    return c.fig;
  }

  function hours(pair) {
    var hs = pair.hours || [];
    var W = 600, H = 80, c = chart('hours', 'Beats per hour', pair.readings.hours, W, H);
    var top = Math.max(1, Math.max.apply(null, hs)), bw = (W - 20) / hs.length;
    hs.forEach(function (n, k) {
      var h = 50 * n / top;
      c.svg.appendChild(sv('rect', { x: (10 + k * bw + 0.5).toFixed(1), y: (56 - h).toFixed(1), width: Math.max(1, bw - 1).toFixed(1), height: h.toFixed(1), fill: n ? '#2a8a3e' : '#d0d7de' }));
    });
    axis(c.svg, 10, W - 10, 60, iso(pair.hour_first_ms), iso(pair.hour_first_ms + 3600000 * hs.length));
    return c.fig;
  }

  function components(b, pair) {
    var v = typeof b.score === 'number' ? b : pair.verdict;
    var parts = [['score', v.score], ['timing T', v.timing], ['count C', v.count_regularity], ['size S', v.size], ['persistence R', v.persistence]];
    var W = 600, H = 24 * parts.length + 8, c = chart('components', 'Score components', pair.readings.components, W, H);
    parts.forEach(function (p, k) {
      var y = 6 + 24 * k, x0 = 120, wmax = W - x0 - 60, val = typeof p[1] === 'number' ? p[1] : 0;
      c.svg.appendChild(sv('text', { x: 4, y: y + 13 }, p[0]));
      c.svg.appendChild(sv('rect', { x: x0, y: y, width: wmax, height: 16, fill: '#eef1f4' }));
      c.svg.appendChild(sv('rect', { x: x0, y: y, width: (wmax * Math.max(0, Math.min(1, val))).toFixed(1), height: 16, fill: k ? '#8a4fbf' : '#0b5cad' }));
      c.svg.appendChild(sv('text', { x: x0 + wmax + 6, y: y + 13 }, val.toFixed(2)));
    });
    return c.fig;
  }

  function drawDetails() {
    var host = document.getElementById('details');
    rows.forEach(function (r) {
      var art = el('article', { 'class': 'key' + (r.suppressed ? ' suppressed' : ''), id: 'k' + r.i, 'data-key': r.key });
      var h = el('h3', null, r.key);
      if (r.suppressed) h.appendChild(el('span', { 'class': 'tag' }, 'suppressed'));
      art.appendChild(h);
      art.appendChild(el('p', { 'class': 'meta' }, [r.host, r.process, r.exe].filter(Boolean).join(' \u00b7 ') + ' \u2192 ' + r.dests));
      if (r.b.reading) art.appendChild(el('p', { 'class': 'reading summary' }, r.b.reading));
      var hist = r.k.history, pair = pickPair(hist, r.b);
      if (!pair) {
        art.appendChild(el('p', { 'class': 'hint' }, 'No beacon history: the key had no beacon state when its alert was polled.'));
        host.appendChild(art);
        return;
      }
      var g = el('div', { 'class': 'charts' });
      g.appendChild(timeline(hist, pair));
      g.appendChild(histogram(pair, typeof r.b.period_ms === 'number' ? r.b.period_ms : pair.verdict.period_ms));
      if ((pair.hours || []).length > 1) g.appendChild(hours(pair));
      g.appendChild(components(r.b, pair));
      art.appendChild(g);
      host.appendChild(art);
    });
    /* Legend swatches: colours set through the CSSOM (allowed by the CSP). */
    Array.prototype.forEach.call(document.querySelectorAll('.sw'), function (s) {
      s.style.background = COLORS[Number(s.getAttribute('data-c')) || 0];
    });
  }

  drawTable();
  drawDetails();
  /* For the tests: does the page need horizontal scrolling at this width? */
  var root = document.documentElement;
  root.setAttribute('data-hscroll', String(root.scrollWidth > root.clientWidth));
  root.setAttribute('data-rendered', String(rows.length));
})();
