#!/usr/bin/python3
"""Turns the raw outputs of tests/bench/run.sh into figures.

  report.py step --name N (--wrk F | --gen F | --flood F) [--metrics F]
                 [--cpu C0 C1] [--wall T0 T1] [--hwm-kib K]   -> step JSON
  report.py outage --name N --gen F --metrics F --hwm-kib K --rss-kib K...
  report.py brief STEP_JSON                                   -> one line
  report.py summarize (--steps DIR | --from-json OLD) --json OUT [--png OUT] ...

Latency quantiles from the gateway's Prometheus histogram are interpolated
linearly inside its fixed buckets (1, 2.5, 5, 10, 25 ms ...) as Prometheus'
histogram_quantile does, so they are approximate; "max" is the upper bound of
the highest non-empty bucket. The event time the gateway measures from has
millisecond resolution (the adapter stamps time_ms), which adds 0 to 1 ms.
eventgen's ack latency (emit to the ack covering the event, 5% buckets) is
quoted beside it.
"""

import argparse
import glob
import json
import math
import os
import re
import shutil
import statistics
import subprocess
import sys

LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})?\s+(\S+)$')
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def parse_metrics(path):
    samples = []
    if not path or not os.path.exists(path):
        return samples
    with open(path) as f:
        for line in f:
            m = LINE.match(line.strip())
            if not m:
                continue
            labels = dict(LABEL.findall(m.group(3) or ''))
            samples.append((m.group(1), labels, float(m.group(4))))
    return samples


def metric_sum(samples, name, **want):
    return sum(v for n, l, v in samples
               if n == name and all(l.get(k) == x for k, x in want.items()))


def histogram(samples, name):
    """Cumulative buckets [(upper_bound_seconds, count)] summed over labels."""
    by_le = {}
    for n, l, v in samples:
        if n == name + '_bucket':
            le = math.inf if l['le'] == '+Inf' else float(l['le'])
            by_le[le] = by_le.get(le, 0) + v
    return sorted(by_le.items())


def quantile(buckets, q):
    if not buckets or buckets[-1][1] == 0:
        return None
    total = buckets[-1][1]
    rank = q * total
    lower, below = 0.0, 0.0
    for le, cum in buckets:
        if cum >= rank:
            if math.isinf(le):
                return lower  # beyond the last finite bound: a lower bound
            inside = cum - below
            frac = (rank - below) / inside if inside else 1.0
            return lower + (le - lower) * frac
        lower, below = le, cum
    return None


def hist_max(buckets):
    if not buckets or buckets[-1][1] == 0:
        return None
    total = buckets[-1][1]
    for le, cum in buckets:
        if cum >= total:
            return le
    return None


def fraction_within(buckets, bound):
    if not buckets or buckets[-1][1] == 0:
        return None
    for le, cum in buckets:
        if abs(le - bound) < 1e-12:
            return cum / buckets[-1][1]
    return None


def ms(x):
    return None if x is None or math.isinf(x) else x * 1000.0


def step(args):
    out = {'name': args.name}
    samples = parse_metrics(args.metrics)
    if args.wrk:
        text = open(args.wrk).read()
        m = re.search(r'Requests/sec:\s+([\d.]+)', text)
        out.update(kind='ceiling', req_per_s=float(m.group(1)) if m else None)
        m = re.search(r'(\d+) requests in ([\d.]+)s', text)
        if m:
            out.update(requests=int(m.group(1)), seconds=float(m.group(2)))
        out['errors'] = 'Non-2xx' in text or 'Socket errors' in text
        out['wrk'] = text
    if args.gen:
        gen = json.load(open(args.gen))
        out.update(kind='gen', eventgen=gen)
    if args.flood:
        out.update(kind='mqtt', flood=json.load(open(args.flood)))
    if args.broker_log:
        m = re.search(r'webhookgw: stopped accepted=(\d+) dropped_full=(\d+)',
                      open(args.broker_log, errors='replace').read())
        if m:
            out['plugin'] = {'accepted': int(m.group(1)), 'dropped_full': int(m.group(2))}
    if samples:
        delivered = metric_sum(samples, 'webhookgw_deliveries_total', outcome='delivered')
        e2e = histogram(samples, 'webhookgw_end_to_end_latency_seconds')
        req = histogram(samples, 'webhookgw_http_request_duration_seconds')
        out['gateway'] = {
            'received': metric_sum(samples, 'webhookgw_events_received_total'),
            'filtered': metric_sum(samples, 'webhookgw_events_filtered_total'),
            'invalid': metric_sum(samples, 'webhookgw_events_invalid_total'),
            'delivered': delivered,
            'deliveries_not_delivered': metric_sum(samples, 'webhookgw_deliveries_total') -
            delivered,
            'retries': metric_sum(samples, 'webhookgw_retries_total'),
            'e2e_buckets': [[le if not math.isinf(le) else '+Inf', c] for le, c in e2e],
            'e2e_ms_p50': ms(quantile(e2e, 0.5)),
            'e2e_ms_p99': ms(quantile(e2e, 0.99)),
            'e2e_ms_max_bucket': ms(hist_max(e2e)),
            'e2e_fraction_within_5ms': fraction_within(e2e, 0.005),
            'e2e_fraction_within_25ms': fraction_within(e2e, 0.025),
            'request_ms_p50': ms(quantile(req, 0.5)),
            'request_ms_p99': ms(quantile(req, 0.99)),
        }
    if args.cpu:
        cpu = args.cpu[1] - args.cpu[0]
        out['gateway_cpu_seconds'] = cpu
        g = out.get('gateway', {})
        events = g.get('delivered') or g.get('received') or 0
        out['gateway_cpu_us_per_event'] = cpu / events * 1e6 if events else None
    # CPU of the other processes of the step, per request (ceiling) or per
    # event: the generator (wrk or eventgen), nginx's workers, mosquitto.
    n = out.get('requests') or (out.get('eventgen') or {}).get('accepted') or (
        out.get('flood') or {}).get('sent')
    for key, value in (('peer', args.peer_cpu), ('nginx', args.nginx_cpu),
                       ('broker', args.broker_cpu)):
        if value is not None:
            out[key + '_cpu_seconds'] = value
            out[key + '_cpu_us_per_event'] = value / n * 1e6 if n else None
    if args.ctx_switches is not None:
        out['gateway_ctx_switches'] = args.ctx_switches
        out['gateway_ctx_switches_per_event'] = args.ctx_switches / n if n else None
    if args.wall:
        out['wall_seconds'] = args.wall[1] - args.wall[0]
    if args.hwm_kib is not None:
        out['gateway_peak_rss_mib'] = args.hwm_kib / 1024.0
    json.dump(out, sys.stdout, indent=1)


def outage(args):
    """An endpoint outage: memory over time while the gateway holds events."""
    samples = parse_metrics(args.metrics)
    gen = json.load(open(args.gen))
    rss = [k / 1024.0 for k in args.rss_kib if k > 0]
    third = max(1, len(rss) // 3)
    out = {
        'name': args.name, 'kind': 'outage', 'eventgen': gen,
        'rss_mib_samples': rss,
        'gateway_peak_rss_mib': args.hwm_kib / 1024.0,
        'rss_mib_last_third_max': max(rss[-third:]) if rss else None,
        'rss_mib_middle_third_max': max(rss[third:2 * third]) if len(rss) >= 3 else None,
        'held_events': metric_sum(samples, 'webhookgw_queue_events'),
        'held_bytes': metric_sum(samples, 'webhookgw_queue_bytes'),
    }
    json.dump(out, sys.stdout, indent=1)


def figures(s):
    """The headline figures of one step, flat."""
    f = {}
    if s['kind'] == 'ceiling':
        f['rate'] = s.get('req_per_s')
    g = s.get('gateway', {})
    if s['kind'] == 'outage':
        f['sent'] = s['eventgen']['accepted']
        f['held_events'] = s['held_events']
        f['rss_mib'] = s['gateway_peak_rss_mib']
        f['rss_mib_middle_third'] = s['rss_mib_middle_third_max']
        f['rss_mib_last_third'] = s['rss_mib_last_third_max']
        return f
    if s['kind'] == 'gen':
        e = s['eventgen']
        f['sent'] = e['accepted']
        f['acked'] = e['acked']
        f['rate'] = e['acked_per_second']
        f['offered'] = e['accepted'] / e['emit_seconds'] if e['emit_seconds'] else None
        f['ack_ms_p50'] = e['ack_latency_ms_p50']
        f['ack_ms_p99'] = e['ack_latency_ms_p99']
        filtered_all = s['name'].split('.')[0] in ('ingest', 'before_ingest')
        handled = g.get('filtered', 0) if filtered_all else g.get('delivered', 0)
        f['lost'] = e['accepted'] - handled
    if s['kind'] == 'mqtt':
        fl = s['flood']
        f['rate'] = fl['received_per_second']
        f['sent'] = fl['sent']
        f['received'] = fl['received']
        if g:
            f['delivered'] = g.get('delivered')
        if s.get('plugin'):
            f['plugin_dropped'] = s['plugin']['dropped_full']
    # In the mosquitto steps the gateway drains a backlog after the publisher
    # is done, so its latency says nothing about the gateway.
    for k in ('e2e_ms_p50', 'e2e_ms_p99', 'e2e_ms_max_bucket', 'e2e_fraction_within_5ms',
              'e2e_fraction_within_25ms'):
        if g.get(k) is not None and s['kind'] != 'mqtt':
            f[k] = g[k]
    if s.get('gateway_cpu_us_per_event') is not None:
        f['cpu_us_per_event'] = s['gateway_cpu_us_per_event']
    if s.get('gateway_ctx_switches_per_event') is not None:
        f['ctx_switches_per_event'] = s['gateway_ctx_switches_per_event']
    for key in ('peer', 'nginx', 'broker'):
        if s.get(key + '_cpu_us_per_event') is not None:
            f[key + '_cpu_us_per_event'] = s[key + '_cpu_us_per_event']
    if s.get('gateway_peak_rss_mib'):
        f['rss_mib'] = s['gateway_peak_rss_mib']
    return f


def brief(args):
    s = json.load(open(args.step))
    f = figures(s)
    print(' '.join('%s=%s' % (k, fmt(v)) for k, v in f.items()))


def fmt(v, digits=3):
    if v is None:
        return '-'
    if isinstance(v, float):
        if abs(v) >= 1000:
            return '{:,.0f}'.format(v)
        return '{:.{}g}'.format(v, digits)
    if isinstance(v, int):
        return '{:,}'.format(v)
    return str(v)


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def summarize(args):
    steps = {}
    if args.from_json:
        # Redo the table of an earlier run from the raw steps it kept.
        steps = json.load(open(args.from_json))['steps']
    for path in sorted(glob.glob(os.path.join(args.steps, '*.json')) if args.steps else []):
        s = json.load(open(path))
        steps[s['name']] = s
    groups = {}
    for name, s in steps.items():
        base, run = name.rsplit('.', 1)
        groups.setdefault(base, {})[int(run)] = figures(s)
    runs = sorted({r for g in groups.values() for r in g})

    def med(base, key):
        return median([groups.get(base, {}).get(r, {}).get(key) for r in runs])

    def spread(base, key):
        vals = [groups.get(base, {}).get(r, {}).get(key) for r in runs]
        vals = [v for v in vals if v is not None]
        return (min(vals), max(vals)) if vals else (None, None)

    def ratio(a, b):
        vals = []
        for r in runs:
            x = groups.get(a, {}).get(r, {}).get('rate')
            y = groups.get(b, {}).get(r, {}).get('rate')
            if x and y:
                vals.append(x / y)
        return median(vals), vals

    max_vs_ceiling, max_vs_ceiling_runs = ratio('max', 'ceiling')
    mqtt_ratio, mqtt_ratio_runs = ratio('mqtt_plugin', 'mqtt_alone')
    batched_vs_ceiling, batched_vs_ceiling_runs = ratio('batched', 'ceiling')
    max_vs_before, max_vs_before_runs = ratio('max', 'before_max')
    rate_bases = sorted((b for b in groups if b.startswith('rate')), key=lambda b: int(b[4:]))

    rows = []

    def row(label, base, offered=None, ratio_text='', note=''):
        rows.append([
            label,
            fmt(offered) if offered is not None else fmt(med(base, 'offered')),
            fmt(med(base, 'rate')),
            ratio_text,
            fmt(med(base, 'lost')),
            '/'.join(fmt(med(base, k), 2) for k in ('e2e_ms_p50', 'e2e_ms_p99')) +
            ('/<=' + fmt(med(base, 'e2e_ms_max_bucket')) if med(base, 'e2e_ms_max_bucket') else ''),
            '/'.join(fmt(med(base, k), 2) for k in ('ack_ms_p50', 'ack_ms_p99')),
            fmt(med(base, 'cpu_us_per_event')),
            fmt(med(base, 'ctx_switches_per_event')),
            '/'.join(fmt(med(base, k), 2) for k in ('peer_cpu_us_per_event',
                                                    'nginx_cpu_us_per_event')),
            fmt(med(base, 'rss_mib')),
            note,
        ])

    row('ceiling: wrk -> nginx', 'ceiling', offered='-', ratio_text='1')
    row('1 request/event, max', 'max', offered='max',
        ratio_text=fmt(max_vs_ceiling) + ' x ceil')
    row('batched, 100 events/POST', 'batched', offered='max',
        ratio_text=fmt(batched_vs_ceiling) + ' x ceil')
    for b in rate_bases:
        row('1 request/event, fixed', b, offered=float(b[4:]))
    row('ingest only (filtered)', 'ingest', offered='max')
    batched_vs_before, batched_vs_before_runs = ratio('batched', 'before_batched')
    ingest_vs_before, ingest_vs_before_runs = ratio('ingest', 'before_ingest')
    if 'before_max' in groups:
        row('before: 1 request/event', 'before_max', offered='max',
            ratio_text='now ' + fmt(max_vs_before) + ' x')
    if 'before_batched' in groups:
        row('before: batched', 'before_batched', offered='max',
            ratio_text='now ' + fmt(batched_vs_before) + ' x')
    if 'before_ingest' in groups:
        row('before: ingest only', 'before_ingest', offered='max',
            ratio_text='now ' + fmt(ingest_vs_before) + ' x')
    for b in sorted((b for b in groups if b.startswith('before_rate')),
                    key=lambda b: int(b[len('before_rate'):])):
        row('before: fixed', b, offered=float(b[len('before_rate'):]))
    row('mosquitto alone', 'mqtt_alone', offered='max', ratio_text='1')
    row('mosquitto + plugin + gw', 'mqtt_plugin', offered='max',
        ratio_text=fmt(mqtt_ratio) + ' x alone')
    mqtt_ingest_ratio, mqtt_ingest_ratio_runs = ratio('mqtt_plugin_ingest', 'mqtt_alone')
    row('  same, gw filters all', 'mqtt_plugin_ingest', offered='max',
        ratio_text=fmt(mqtt_ingest_ratio) + ' x alone')
    mqtt_batched_ratio, mqtt_batched_ratio_runs = ratio('mqtt_plugin_batched', 'mqtt_alone')
    if 'mqtt_plugin_batched' in groups:
        row('  same, gw batches 100/POST', 'mqtt_plugin_batched', offered='max',
            ratio_text=fmt(mqtt_batched_ratio) + ' x alone')

    header = ['step', 'offered/s', 'achieved/s', 'ratio', 'lost', 'e2e ms p50/p99/max',
              'ack ms p50/p99', 'gw CPU us/ev', 'gw cs/ev', 'gen/nginx us/ev', 'gw RSS MiB', '']
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header))]
    lines = ['  '.join(str(c).ljust(w) for c, w in zip(header, widths)).rstrip()]
    lines.append('  '.join('-' * w for w in widths[:-1]))
    for r in rows:
        lines.append('  '.join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip())

    # The project's goals, each with the median that answers it.
    goals = []

    def goal(text, value, ok):
        goals.append({'goal': text, 'measured': value, 'met': ok})

    goal('1 request/event >= 0.5 x wrk ceiling', max_vs_ceiling,
         max_vs_ceiling is not None and max_vs_ceiling >= 0.5)
    lost = [med(b, 'lost') for b in ['max', 'ingest'] + rate_bases]
    goal('0 lost', max(l for l in lost if l is not None) if any(l is not None for l in lost)
         else None, all(l == 0 for l in lost if l is not None))
    for rate, bound, key in ((10000, 5.0, 'e2e_fraction_within_5ms'),
                             (50000, 20.0, 'e2e_fraction_within_25ms')):
        p99 = med('rate%d' % rate, 'e2e_ms_p99')
        ack99 = med('rate%d' % rate, 'ack_ms_p99')
        goal('p99 end-to-end <= %g ms at %d/s (gateway histogram; eventgen ack p99 %s ms)' %
             (bound, rate, fmt(ack99)), p99, p99 is not None and p99 <= bound)
    ingest = med('ingest', 'rate')
    goal('ingest only >= 1,000,000 events/s', ingest, ingest is not None and ingest >= 1e6)
    cpu = med('max', 'cpu_us_per_event')
    batched = med('batched', 'rate')
    goal('batched >= 500,000 events/s delivered', batched, batched is not None and batched >= 5e5)
    goal('gateway CPU <= 10 us per delivered event', cpu, cpu is not None and cpu <= 10)
    goal('mosquitto with plugin+gateway >= 0.8 x alone', mqtt_ratio,
         mqtt_ratio is not None and mqtt_ratio >= 0.8)
    if mqtt_batched_ratio is not None:
        goal('  the same with the gateway batching 100 events per POST', mqtt_batched_ratio,
             mqtt_batched_ratio >= 0.8)
    alone_cpu = med('mqtt_alone', 'broker_cpu_us_per_event')
    plugin_cpu = med('mqtt_plugin', 'broker_cpu_us_per_event')
    cpu_ratio = alone_cpu / plugin_cpu if alone_cpu and plugin_cpu else None
    goal('  mosquitto CPU per message alone / with plugin (its ingest capacity ratio)', cpu_ratio,
         cpu_ratio is not None and cpu_ratio >= 0.8)
    rss = max([v for v in (med(b, 'rss_mib') for b in groups if b != 'outage')
               if v is not None] or [0])
    goal('gateway peak RSS <= 64 MiB under full load', rss, rss <= 64)
    if 'outage' in groups:
        o = groups['outage'][min(groups['outage'])]
        mid, last = o.get('rss_mib_middle_third'), o.get('rss_mib_last_third')
        goal('RSS bounded during an endpoint outage (peak %s MiB holding %s events; max of '
             'middle / last third of the samples %s / %s MiB)' % (
                 fmt(o.get('rss_mib')), fmt(o.get('held_events')), fmt(mid), fmt(last)),
             o.get('rss_mib'), mid is not None and last is not None and last <= mid * 1.1)

    lines.append('')
    for g in goals:
        lines.append('%-5s %s: %s' % ('ok' if g['met'] else 'MISS', g['goal'], fmt(g['measured'])))
    lines.append('')
    lines.append('medians of %d run(s), mosquitto steps of %d; spread (min..max) of achieved/s: %s' %
                 (len(groups.get('ceiling', {})), len(groups.get('mqtt_alone', {})), ', '.join(
                     '%s %s..%s' % (b, fmt(spread(b, 'rate')[0]), fmt(spread(b, 'rate')[1]))
                     for b in ['ceiling', 'max', 'ingest', 'mqtt_alone', 'mqtt_plugin']
                     if b in groups)))
    lines.append('per-run ratios: max/ceiling %s; mosquitto plugin/alone %s; filtered %s' % (
        ', '.join(fmt(v) for v in max_vs_ceiling_runs), ', '.join(fmt(v) for v in mqtt_ratio_runs),
        ', '.join(fmt(v) for v in mqtt_ingest_ratio_runs)))
    if max_vs_before_runs:
        lines.append('per-run ratios: max now/before %s' % ', '.join(
            fmt(v) for v in max_vs_before_runs))
    if batched_vs_before_runs:
        lines.append('per-run ratios: batched now/before %s' % ', '.join(
            fmt(v) for v in batched_vs_before_runs))
    if ingest_vs_before_runs:
        lines.append('per-run ratios: ingest now/before %s' % ', '.join(
            fmt(v) for v in ingest_vs_before_runs))
    lines.append('us/ev = CPU microseconds per request or event (= CPU s per million); gen = '
                 'wrk or eventgen; mosquitto CPU us/msg: %s alone, %s with plugin, %s filtered' % (
                     fmt(med('mqtt_alone', 'broker_cpu_us_per_event')),
                     fmt(med('mqtt_plugin', 'broker_cpu_us_per_event')),
                     fmt(med('mqtt_plugin_ingest', 'broker_cpu_us_per_event'))))
    lines.append('cs/ev = context switches of all gateway threads per event')
    lines.append('e2e = gateway histogram (event time, ms resolution, -> 2xx), interpolated in '
                 'buckets 1/2.5/5/10/25 ms; max = bucket bound. ack = eventgen emit -> ack.')
    table = '\n'.join(lines)
    print(table)

    result = {
        'host': args.host,
        'smoke': bool(int(args.smoke)),
        'runs': len(runs),
        'table': table,
        'goals': goals,
        'medians': {b: {k: med(b, k) for k in sorted({k for r in g.values() for k in r})}
                    for b, g in groups.items()},
        'ratios': {'max_vs_ceiling': max_vs_ceiling, 'max_vs_ceiling_runs': max_vs_ceiling_runs,
                   'batched_vs_ceiling': batched_vs_ceiling,
                   'batched_vs_ceiling_runs': batched_vs_ceiling_runs,
                   'max_vs_before': max_vs_before, 'max_vs_before_runs': max_vs_before_runs,
                   'batched_vs_before': batched_vs_before,
                   'batched_vs_before_runs': batched_vs_before_runs,
                   'ingest_vs_before': ingest_vs_before,
                   'ingest_vs_before_runs': ingest_vs_before_runs,
                   'mqtt_plugin_ingest_vs_alone': mqtt_ingest_ratio,
                   'mqtt_plugin_ingest_vs_alone_runs': mqtt_ingest_ratio_runs,
                   'mqtt_plugin_vs_alone': mqtt_ratio, 'mqtt_plugin_vs_alone_runs': mqtt_ratio_runs,
                   'mqtt_plugin_batched_vs_alone': mqtt_batched_ratio,
                   'mqtt_plugin_batched_vs_alone_runs': mqtt_batched_ratio_runs},
        'steps': steps,
    }
    with open(args.json, 'w') as f:
        json.dump(result, f, indent=1, sort_keys=True)
        f.write('\n')
    print('raw figures: %s' % args.json)
    if args.png:
        plot(args.png, groups, runs, rate_bases, med)
    # The smoke run checks no figure, only that every step produced figures
    # and that nothing was lost, which holds at any speed.
    if int(args.smoke):
        problems = ['%s: no rate' % b for b in groups
                    if med(b, 'rate') is None and b != 'outage']
        problems += ['outage: no memory samples'] if 'outage' in groups and med(
            'outage', 'rss_mib_last_third') is None else []
        problems += ['%s: %s events lost' % (b, fmt(med(b, 'lost'))) for b in groups
                     if med(b, 'lost')]
        problems += ['mqtt_plugin: %s of %s publishes delivered' % (
            fmt(med('mqtt_plugin', 'delivered')), fmt(med('mqtt_plugin', 'received')))
                     ] if med('mqtt_plugin', 'delivered') != med('mqtt_plugin', 'sent') else []
        if problems:
            print('smoke check failed: ' + '; '.join(problems))
            sys.exit(1)


def plot(png, groups, runs, rate_bases, med):
    gnuplot = shutil.which('gnuplot')
    if not gnuplot:
        print('no gnuplot: skipped %s (cmake/install-deps.sh installs gnuplot-nox)' % png)
        return
    data = png[:-4] + '.dat'
    with open(data, 'w') as f:
        f.write('# offered/s e2e_p50_ms e2e_p99_ms ack_p50_ms ack_p99_ms\n')
        for b in rate_bases:
            vals = [med(b, k) for k in ('e2e_ms_p50', 'e2e_ms_p99', 'ack_ms_p50', 'ack_ms_p99')]
            f.write('%s %s\n' % (b[4:], ' '.join('NaN' if v is None else '%.4f' % v
                                                  for v in vals)))
    script = '''
set terminal pngcairo size 800,500 noenhanced
set output '{png}'
set title 'end-to-end latency vs offered rate (1 request per event, nginx on loopback)'
set xlabel 'offered events/s'
set ylabel 'latency (ms)'
set logscale y
set grid
set key top left
plot '{data}' using 1:2 with linespoints title 'gateway e2e p50 (histogram)', \\
     '{data}' using 1:3 with linespoints title 'gateway e2e p99 (histogram)', \\
     '{data}' using 1:4 with linespoints title 'eventgen ack p50', \\
     '{data}' using 1:5 with linespoints title 'eventgen ack p99', \
     '-' using 1:2 with points pointtype 7 pointsize 1.5 title 'goal: p99 bound'
10000 5
50000 20
e
'''.format(png=png, data=data)
    subprocess.run([gnuplot], input=script, text=True, check=True)
    os.remove(data)
    print('latency plot: %s' % png)


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest='cmd', required=True)
    s = sub.add_parser('step')
    s.add_argument('--name', required=True)
    s.add_argument('--wrk')
    s.add_argument('--gen')
    s.add_argument('--flood')
    s.add_argument('--metrics')
    s.add_argument('--cpu', nargs=2, type=float)
    s.add_argument('--wall', nargs=2, type=float)
    s.add_argument('--hwm-kib', type=float)
    s.add_argument('--peer-cpu', type=float)
    s.add_argument('--nginx-cpu', type=float)
    s.add_argument('--broker-cpu', type=float)
    s.add_argument('--broker-log')
    s.add_argument('--ctx-switches', type=float)
    o = sub.add_parser('outage')
    o.add_argument('--name', required=True)
    o.add_argument('--gen', required=True)
    o.add_argument('--metrics', required=True)
    o.add_argument('--hwm-kib', type=float, required=True)
    o.add_argument('--rss-kib', nargs='*', type=float, default=[])
    b = sub.add_parser('brief')
    b.add_argument('step')
    m = sub.add_parser('summarize')
    m.add_argument('--steps')
    m.add_argument('--from-json', help='the steps of an earlier results JSON')
    m.add_argument('--json', required=True)
    m.add_argument('--png')
    m.add_argument('--smoke', default='0')
    m.add_argument('--host', default='')
    args = p.parse_args()
    {'step': step, 'outage': outage, 'brief': brief, 'summarize': summarize}[args.cmd](args)


if __name__ == '__main__':
    main()
