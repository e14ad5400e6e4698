#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""t1071-agent's shared prevalence and checkpoints through a real
redis-server (issue 15; examples/agent/README.md "Shared prevalence through
Redis").  Meson suite `redis`.

usage: test-redis.py AGENT TEST_REDIS_STORE PROFILES_DIR REDIS_SERVER [REPLAY]
Prints TAP.  Every redis-server is started on 127.0.0.1 with a free port,
`--save '' --appendonly no`, and killed in a finally block.

The stream (generated, sorted by event time; hosts picked with the agent's
--print-shards so the spread over 4 shards is known):
- an updater reaching one destination from 24 hosts, 6 per shard, that come
  online one after the other: it crosses the tuned profile's 20-host
  suppression only when all shards' hosts are counted together (each shard
  alone has 6 < 20);
- a second fleet tool on 8 hosts, 2 per shard: it crosses the 5-host score
  penalty only together (each shard alone has 2 < 5);
- a small implant on 3 hosts.
(24 hosts over 4 shards cannot stay below 5 in every shard, hence two
destinations: one per threshold.)

(a) 4 agent processes (--shard I/4 --lockstep) sharing prevalence through
    Redis give the single context's alerts and suppression reasons
    (tuned profile, tuning.emit_suppressed = true: every judged sequence is
    emitted with its reason), compared by group id, key, member ids,
    suppressed, reason, prevalence hosts and score; the same 4 shards without
    Redis do not (so the comparison can fail).
(b) 4 processes in production mode (--redis-sync 10) reading stdin; Redis
    is SIGKILLed after the first part of the stream and restarted empty on
    the same port before the last part: no crash, every event counted
    (sum of the processes' events == records), each process logs that it
    went degraded and counts failures, catches up after the restart, and
    after the final exchange (--redis-barrier 4) every process's
    prevalence table (--prevalence-out) equals the union of the 4 shards'
    own tables (computed here from the no-Redis runs of (a) by the
    library's rules: per entry a host's latest time, the K greatest by
    (time, host hash)) — "converged" means exactly this equality.
(c) against redis-server --requirepass: the password from a file works
    (and from T1071_REDIS_PASSWORD; and an ACL user limited to its key
    prefix); a wrong one fails at start with exit status 1 and a clear
    message that never contains the password; --redis-password on the
    command line is refused; --redis without tuning.fleet_key is refused.
(d) the checkpoint store against the same server (test-redis-store):
    roundtrip, truncated and corrupted records refused and counted; and the
    prevalence module alone: push/pull, Prometheus metrics, a malformed
    member skipped, Redis losing its data (FLUSHALL) makes a context push
    its whole table again (the (b) stream changes its entries so often that
    (b) converges even without that; this check does not)."""
import json
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

tests = 0
failed = 0
FLEET_KEY = 'test-fleet-key-15'
T0 = 1704067200000


def ok(cond, name, diag=None):
    global tests, failed
    tests += 1
    print('%s %d - %s' % ('ok' if cond else 'not ok', tests, name), flush=True)
    if not cond:
        failed += 1
        for line in str(diag or '').splitlines()[:30]:
            print('# ' + line, flush=True)
    return cond


def note(msg):
    for line in str(msg).splitlines() or ['']:
        print('# ' + line, flush=True)


# ===== a tiny RESP client (stdlib only) =====

def resp(port, *args, password=None, timeout=2.0):
    s = socket.create_connection(('127.0.0.1', port), timeout=timeout)
    try:
        f = s.makefile('rb')
        cmds = ([('AUTH', password)] if password else []) + [args]
        out = b''
        for c in cmds:
            out += b'*%d\r\n' % len(c)
            for a in c:
                a = a if isinstance(a, bytes) else str(a).encode()
                out += b'$%d\r\n%s\r\n' % (len(a), a)
        s.sendall(out)
        rep = None
        for _ in cmds:
            rep = read_reply(f)
        return rep
    finally:
        s.close()


def read_reply(f):
    line = f.readline()
    if not line:
        raise ConnectionError('closed')
    t, rest = line[:1], line[1:-2]
    if t == b'+':
        return rest.decode()
    if t == b'-':
        return RuntimeError(rest.decode())
    if t == b':':
        return int(rest)
    if t == b'$':
        n = int(rest)
        if n < 0:
            return None
        data = f.read(n + 2)
        return data[:-2]
    if t == b'*':
        n = int(rest)
        return None if n < 0 else [read_reply(f) for _ in range(n)]
    raise ValueError('bad reply %r' % line)


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Redis:
    def __init__(self, server, workdir, extra=(), port=None):
        self.server, self.workdir, self.extra = server, workdir, list(extra)
        self.port = port or free_port()
        self.proc = None
        self.password = None
        if '--requirepass' in self.extra:
            self.password = self.extra[self.extra.index('--requirepass') + 1]

    def start(self):
        self.proc = subprocess.Popen(
            [self.server, '--port', str(self.port), '--bind', '127.0.0.1', '--save', '',
             '--appendonly', 'no', '--dir', self.workdir, '--daemonize', 'no'] + self.extra,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                if resp(self.port, 'PING', password=self.password) == 'PONG':
                    return self
            except OSError:
                pass
            if self.proc.poll() is not None:
                raise RuntimeError('redis-server exited with %s' % self.proc.returncode)
            time.sleep(0.05)
        raise RuntimeError('redis-server did not answer on port %d' % self.port)

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
        self.proc = None

    def cmd(self, *args):
        return resp(self.port, *args, password=self.password)


# ===== the stream =====

def event(ts, host, entity, exe, name, ip, port):
    s, ms = divmod(ts, 1000)
    t = time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(s)) + '.%03dZ' % ms
    return json.dumps({
        '@timestamp': t,
        'event': {'category': ['network'], 'type': ['start']},
        'network': {'direction': 'egress'},
        'destination': {'ip': ip, 'port': port},
        'process': {'entity_id': entity, 'name': name, 'executable': exe},
        'host': {'id': host, 'name': host.lower()},
    }, separators=(',', ':'))


class Rng:
    def __init__(self, seed):
        self.s = seed

    def below(self, n):
        self.s = (self.s * 6364136223846793005 + 1442695040888963407) % (1 << 64)
        return (self.s >> 33) % n


def host_shards(agent, tmp, n_hosts):
    probe = os.path.join(tmp, 'probe.ndjson')
    with open(probe, 'w') as f:
        for h in range(n_hosts):
            f.write(event(T0, 'HOST%d' % h, 'p', 'C:\\x.exe', 'x.exe', '198.51.100.1', 443) + '\n')
    out = subprocess.run([agent, '--print-shards', '4', probe], capture_output=True, text=True,
                         check=True).stdout
    return {'HOST%d' % (int(ln.split()[0]) - 1): int(ln.split()[1])
            for ln in out.strip().splitlines()}


def build_stream(agent, tmp):
    shard = host_shards(agent, tmp, 400)
    by = {s: [h for h, v in sorted(shard.items(), key=lambda kv: int(kv[0][4:])) if v == s]
          for s in range(4)}
    updater = [h for s in range(4) for h in by[s][:6]]
    tool = [h for s in range(4) for h in by[s][6:8]]
    implant = [by[0][8], by[1][8], by[2][8]]
    # come online one after the other, shards interleaved
    updater.sort(key=lambda h: int(h[4:]))
    tool.sort(key=lambda h: int(h[4:]))
    rng = Rng(15)
    evs = []
    for i, h in enumerate(updater):
        t = T0 + i * 900000
        for _ in range(40):
            evs.append((t, h, event(t, h, 'U' + h, 'C:\\Program Files\\Vendor\\updater.exe',
                                    'updater.exe', '198.51.100.77', 443)))
            t += 300000 + rng.below(3001) - 1500
    for i, h in enumerate(tool):
        t = T0 + 600000 + i * 1800000
        for _ in range(40):
            evs.append((t, h, event(t, h, 'T' + h, 'C:\\Program Files\\Ops\\inventory.exe',
                                    'inventory.exe', '192.0.2.44', 8443)))
            t += 240000 + rng.below(2001) - 1000
    for i, h in enumerate(implant):
        t = T0 + i * 7000
        for _ in range(60):
            evs.append((t, h, event(t, h, 'I' + h, 'C:\\Users\\bob\\AppData\\Local\\Temp\\svc.exe',
                                    'svc.exe', '203.0.113.9', 8080)))
            t += 600000 + rng.below(2001) - 1000
    evs.sort(key=lambda e: (e[0], int(e[1][4:])))
    path = os.path.join(tmp, 'stream.ndjson')
    with open(path, 'w') as f:
        for e in evs:
            f.write(e[2] + '\n')
    return path, len(evs), shard, updater, tool


# ===== alerts =====

def alert_tuples(text):
    out = []
    for line in text.splitlines():
        if not line.strip():
            continue
        a = json.loads(line)
        t = a['t1071']
        tun = t.get('tuning', {})
        out.append((a['kibana']['alert']['group']['id'], t['key'], tuple(t['event_ids']),
                    tun.get('suppressed'), tun.get('reason'), tun.get('prevalence_hosts'),
                    round(t.get('beacon', {}).get('score', -1), 3)))
    return sorted(out)


def count_reason(tuples, reason):
    return sum(1 for t in tuples if t[4] == reason)


# ===== prevalence deltas (README "Fleet prevalence across contexts") =====

def parse_delta(data):
    assert data[:8] == b'T1071PRV', 'bad magic'
    k = struct.unpack_from('<I', data, 12)[0]
    n = struct.unpack_from('<I', data, 80)[0]
    p = 88
    table = {}
    for _ in range(n):
        kl = struct.unpack_from('<H', data, p)[0]
        key = data[p + 2:p + 2 + kl]
        nh = struct.unpack_from('<H', data, p + 2 + kl)[0]
        p += 4 + kl
        hosts = {}
        for _ in range(nh):
            h, t = struct.unpack_from('<Qq', data, p)
            hosts[h] = t
            p += 16
        table[key] = hosts
    assert p == len(data)
    return k, table


def union(tables, k):
    out = {}
    for t in tables:
        for key, hosts in t.items():
            e = out.setdefault(key, {})
            for h, ts in hosts.items():
                e[h] = max(e.get(h, ts), ts)
    for key in out:
        top = sorted(out[key].items(), key=lambda ht: (ht[1], ht[0]), reverse=True)[:k]
        out[key] = dict(top)
    return out


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def main():
    agent, ckpt_test, profiles, server = sys.argv[1:5]
    replay = sys.argv[5] if len(sys.argv) > 5 else None
    tuned = os.path.join(profiles, 'tuned.ini')
    cfg = ['--config', tuned, '--set', 'tuning.emit_suppressed=true',
           '--set', 'tuning.fleet_key=' + FLEET_KEY]
    started = time.time()
    servers = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            stream, n_events, shard, updater, tool = build_stream(agent, tmp)
            per = [sum(1 for h in updater if shard[h] == s) for s in range(4)]
            per_tool = [sum(1 for h in tool if shard[h] == s) for s in range(4)]
            ok(len(updater) == 24 and max(per) < 20 and len(tool) == 8 and max(per_tool) < 5,
               'stream: updater on 24 hosts (%s per shard, each < 20), tool on 8 (%s, each < 5)'
               % (per, per_tool))

            # --- the single context and the shards apart ---
            single = run([agent, '-j', '1'] + cfg + [stream])
            ok(single.returncode == 0, 'single context runs', single.stderr)
            want = alert_tuples(single.stdout)
            if replay:
                rp = run([replay] + cfg + ['--set', 'engine.lateness=0s', stream])
                ok(rp.returncode == 0 and alert_tuples(rp.stdout) == want,
                   'the single context (t1071-agent -j 1) equals t1071-replay with the same '
                   'config', rp.stderr)
            ok(count_reason(want, 'prevalence') > 0 and
               any(t[5] is not None and 5 <= t[5] < 20 for t in want),
               'single context: %d alerts, %d suppressed for prevalence, some scored with '
               '5..19 hosts' % (len(want), count_reason(want, 'prevalence')))
            apart, tables = [], []
            for i in range(4):
                dump = os.path.join(tmp, 'apart%d.prv' % i)
                r = run([agent, '-j', '1', '--shard', '%d/4' % i, '--prevalence-out', dump]
                        + cfg + [stream])
                ok(r.returncode == 0, 'shard %d/4 without Redis runs' % i, r.stderr)
                apart += alert_tuples(r.stdout)
                with open(dump, 'rb') as f:
                    k, table = parse_delta(f.read())
                tables.append(table)
            apart.sort()
            ok(apart != want, '4 shards without sharing differ from one context '
               '(%d suppressed for prevalence instead of %d)'
               % (count_reason(apart, 'prevalence'), count_reason(want, 'prevalence')))
            expected_table = union(tables, k)

            # --- (a) lockstep through Redis ---
            r1 = Redis(server, tmp).start()
            servers.append(r1)
            t = time.time()
            procs = []
            # outputs to files: a full pipe would stall a process, and with it
            # every other one waiting for its turn
            files = [(open(os.path.join(tmp, 'lock%d.out' % i), 'w+'),
                      open(os.path.join(tmp, 'lock%d.err' % i), 'w+')) for i in range(4)]
            for i in range(4):
                procs.append(subprocess.Popen(
                    [agent, '--shard', '%d/4' % i, '--lockstep', '--redis',
                     '127.0.0.1:%d' % r1.port, '--redis-prefix', 'lock', '--stats'] + cfg
                    + [stream], stdout=files[i][0], stderr=files[i][1], text=True))
            outs = []
            for p, (fo, fe) in zip(procs, files):
                p.wait(timeout=200)
                fo.seek(0)
                fe.seek(0)
                outs.append((fo.read(), fe.read()))
                fo.close()
                fe.close()
            note('lockstep: 4 processes, %d events, %.1f s' % (n_events, time.time() - t))
            got = sorted(a for o in outs for a in alert_tuples(o[0]))
            ok(all(p.returncode == 0 for p in procs), '(a) 4 lockstep processes exit 0',
               '\n'.join(o[1] for o in outs))
            ok(got == want, '(a) 4 processes sharing through Redis in lockstep give the single '
               "context's alerts and suppression reasons (%d, %d suppressed for prevalence)"
               % (len(got), count_reason(got, 'prevalence')),
               '\n'.join(repr(x) for x in sorted(set(got) ^ set(want))[:10]))
            ev = sum(int(l.split('events ')[1].split()[0]) for o in outs
                     for l in o[1].splitlines() if ': worker 0: events ' in l)
            ok(ev == n_events, '(a) events fed over the 4 processes == records (%d)' % ev)

            # --- (b) Redis killed mid-run, restarted empty ---
            r2 = Redis(server, tmp).start()
            servers.append(r2)
            lines = open(stream).read().splitlines(True)
            cut1, cut2 = len(lines) * 2 // 5, len(lines) * 7 // 10
            dumps = [os.path.join(tmp, 'redis%d.prv' % i) for i in range(4)]
            procs = []
            t = time.time()
            for i in range(4):
                procs.append(subprocess.Popen(
                    [agent, '-j', '1', '--shard', '%d/4' % i, '--redis', '127.0.0.1:%d' % r2.port,
                     '--redis-prefix', 'prod', '--redis-sync', '10', '--redis-barrier', '4',
                     '--redis-timeout', '500', '--redis-connect-timeout', '500',
                     '--prevalence-out', dumps[i], '--stats', '--output', 'none'] + cfg + ['-'],
                    stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                    stderr=open(os.path.join(tmp, 'prod%d.err' % i), 'w'), text=True))
            for p in procs:
                p.stdin.write(''.join(lines[:cut1]))
                p.stdin.flush()
            deadline = time.time() + 20
            seq = 0
            while time.time() < deadline and seq < 8:
                keys = r2.cmd('KEYS', 'prod:prev:*:seq') or []
                seq = int(r2.cmd('GET', keys[0]) or 0) if keys else 0
                time.sleep(0.05)
            ok(seq >= 8, '(b) the processes pushed before the outage (seq %d)' % seq)
            time.sleep(0.3)
            r2.kill()
            for p in procs:
                p.stdin.write(''.join(lines[cut1:cut2]))
                p.stdin.flush()
            # every process has met the outage (its degraded line) before
            # Redis comes back, however loaded the machine is
            deadline = time.time() + 60
            while time.time() < deadline:
                seen = 0
                for i in range(4):
                    with open(os.path.join(tmp, 'prod%d.err' % i)) as f:
                        seen += '(redis_degraded 1)' in f.read()
                if seen == 4:
                    break
                time.sleep(0.05)
            time.sleep(0.3)
            r2.start()
            for p in procs:
                p.stdin.write(''.join(lines[cut2:]))
                p.stdin.close()
            outs = []
            for i, p in enumerate(procs):
                p.wait(timeout=120)
                with open(os.path.join(tmp, 'prod%d.err' % i)) as f:
                    outs.append(f.read())
            note('outage run: %.1f s' % (time.time() - t))
            ok(all(p.returncode == 0 for p in procs), '(b) no crash: every process exits 0',
               '\n'.join(outs))
            ev = sum(int(l.split('events ')[1].split()[0]) for o in outs
                     for l in o.splitlines() if ': worker 0: events ' in l)
            ok(ev == n_events, '(b) no event lost: events over the 4 processes == records (%d/%d)'
               % (ev, n_events))
            stat = [dict(re.findall(r'(redis_\w+) (\d+)', l))
                    for o in outs for l in o.splitlines() if 'redis_pushes' in l]
            ok(len(stat) == 4 and all('(redis_degraded 1)' in o for o in outs)
               and all(int(s['redis_failures']) > 0 for s in stat),
               '(b) each process went degraded during the outage and counted failures',
               '\n'.join(outs))
            ok(all(int(s['redis_catchups']) >= 1 and s['redis_degraded'] == '0' and
                   int(s['redis_resets']) >= 1 for s in stat),
               '(b) each process caught up after the restart (catchups %s, resets %s)'
               % ([s.get('redis_catchups') for s in stat], [s.get('redis_resets') for s in stat]),
               repr(stat))
            views = []
            for d in dumps:
                with open(d, 'rb') as f:
                    views.append(parse_delta(f.read())[1])
            ok(all(v == expected_table for v in views),
               '(b) converged: every process holds the union of the 4 shards\' tables '
               '(%d entries, %d hosts)' % (len(expected_table),
                                          sum(len(h) for h in expected_table.values())),
               '\n'.join('process %d: %d entries' % (i, len(v)) for i, v in enumerate(views)))
            r2.kill()

            # --- (c) AUTH ---
            secret = 's3cr3t-Pa55-%d' % os.getpid()
            r3 = Redis(server, tmp, ['--requirepass', secret]).start()
            servers.append(r3)
            good = os.path.join(tmp, 'pw')
            wrong = os.path.join(tmp, 'pw-wrong')
            with open(good, 'w') as f:
                f.write(secret + '\n')
            with open(wrong, 'w') as f:
                f.write('not-' + secret + '\n')
            base = [agent, '-j', '1', '--redis', '127.0.0.1:%d' % r3.port, '--stats',
                    '--output', 'none', '--redis-prefix', 'auth'] + cfg + [stream]
            r = run(base + ['--redis-password-file', good])
            ok(r.returncode == 0 and 'redis_pushes 0 ' not in r.stderr and 'redis_pushes' in r.stderr
               and secret not in r.stderr,
               '(c) the password from a file authenticates (pushes counted, no secret in stderr)',
               r.stderr)
            env = dict(os.environ, T1071_REDIS_PASSWORD=secret)
            r = run(base, env=env)
            ok(r.returncode == 0 and secret not in r.stderr,
               '(c) the password from T1071_REDIS_PASSWORD authenticates', r.stderr)
            r = run(base + ['--redis-password-file', wrong])
            ok(r.returncode == 1 and 'refused the credentials' in r.stderr and secret not in r.stderr
               and r.stdout == '',
               '(c) a wrong password fails at start: exit 1, a clear message, no secret',
               'status %d: %s' % (r.returncode, r.stderr))
            note(r.stderr.strip())
            r = run(base)
            ok(r.returncode == 1 and 'requires authentication' in r.stderr,
               '(c) no password against --requirepass fails at start (exit 1)', r.stderr)
            r = run(base + ['--redis-password', secret])
            ok(r.returncode == 2 and '--redis-password-file' in r.stderr and secret not in r.stderr,
               '(c) --redis-password on the command line is refused (exit 2)', r.stderr)
            r = run([agent, '-j', '1', '--redis', '127.0.0.1:%d' % r3.port, '--config', tuned,
                     stream], env=env)
            ok(r.returncode == 2 and 'fleet_key' in r.stderr,
               '(c) --redis without tuning.fleet_key is refused (exit 2)', r.stderr)
            # an ACL user limited to its own key prefix
            acl_pw = 'acl-' + secret
            r3.cmd('ACL', 'SETUSER', 'agent15', 'on', '>' + acl_pw, '~acl15:*', '+@all')
            acl_file = os.path.join(tmp, 'pw-acl')
            with open(acl_file, 'w') as f:
                f.write(acl_pw)
            r = run([agent, '-j', '1', '--redis', '127.0.0.1:%d' % r3.port, '--stats',
                     '--output', 'none', '--redis-user', 'agent15', '--redis-password-file',
                     acl_file, '--redis-prefix', 'acl15'] + cfg + [stream])
            ok(r.returncode == 0 and 'redis_failures 0 ' in r.stderr and 'redis_pushes 0 ' not in r.stderr,
               '(c) an ACL user restricted to ~acl15:* works with --redis-prefix acl15', r.stderr)
            r = run([agent, '-j', '1', '--redis', '127.0.0.1:%d' % r3.port, '--stats',
                     '--output', 'none', '--redis-user', 'agent15', '--redis-password-file',
                     acl_file, '--redis-prefix', 'other'] + cfg + [stream])
            ok(r.returncode == 0 and 'redis_failures 0 ' not in r.stderr,
               '(c) the same user under another prefix is denied by Redis, counted as failures '
               '(local prevalence goes on)', r.stderr)

            # --- (d) checkpoints ---
            r = run([ckpt_test, '127.0.0.1:%d' % r3.port, 'ck', good])
            for line in r.stdout.splitlines():
                if line.startswith('#'):
                    print(line)
            sub = [l for l in r.stdout.splitlines() if l.startswith(('ok', 'not ok'))]
            ok(r.returncode == 0 and len(sub) >= 23 and all(l.startswith('ok') for l in sub),
               '(d) test-redis-store: %d checks (checkpoint roundtrip; truncated, bad magic and '
               'version -1; corrupted snapshot refused by t1071_restore and counted; the '
               'prevalence module, its metrics, a malformed member, Redis losing its data)'
               % len(sub),
               r.stdout + r.stderr)
    finally:
        for s in servers:
            s.kill()
    note('suite wall time %.1f s' % (time.time() - started))
    print('1..%d' % tests)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
