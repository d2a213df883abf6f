#!/usr/bin/python3
# Produce benchmark against a running raft cluster (librdkafka through confluent_kafka):
#
#   node scripts/cluster.mjs start
#   /usr/bin/python3 apps/server/test/cluster/bench.py --bootstrap localhost:9092 --records 500000
#
# Creates a topic (default 3 partitions, RF 3), produces fixed-size records with acks=all and prints
# msg/s, MB/s and the p50/p99 latency from produce() to the delivery report. Issue 9's target on one
# 2-core machine: >= 165,000 msg/s of 256 B records with p99 < 50 ms.
import argparse
import time
import uuid

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

ap = argparse.ArgumentParser()
ap.add_argument('--bootstrap', default='localhost:9092')
ap.add_argument('--records', type=int, default=500_000)
ap.add_argument('--size', type=int, default=256)
ap.add_argument('--partitions', type=int, default=3)
ap.add_argument('--replication', type=int, default=3)
ap.add_argument('--acks', default='all')
ap.add_argument('--linger-ms', type=int, default=5)
ap.add_argument('--topic', default=None)
a = ap.parse_args()

topic = a.topic or f'bench-{uuid.uuid4().hex[:8]}'
admin = AdminClient({'bootstrap.servers': a.bootstrap})
for f in admin.create_topics([NewTopic(topic, a.partitions, a.replication)]).values():
    try:
        f.result()
    except Exception as e:  # noqa: BLE001 - an existing topic is fine
        print('create topic:', e)
time.sleep(2)

p = Producer({
    'bootstrap.servers': a.bootstrap,
    'acks': a.acks,
    'linger.ms': a.linger_ms,
    'batch.num.messages': 10000,
    'queue.buffering.max.messages': 1_000_000,
})
value = b'x' * a.size
latencies = []
errors = [0]


def report(err, _msg, sent):
    if err:
        errors[0] += 1
    else:
        latencies.append(time.perf_counter() - sent)


start = time.perf_counter()
for i in range(a.records):
    sent = time.perf_counter()
    while True:
        try:
            p.produce(topic, value, on_delivery=lambda err, msg, s=sent: report(err, msg, s))
            break
        except BufferError:
            p.poll(0.005)
    if i % 1000 == 0:
        p.poll(0)
p.flush(120)
elapsed = time.perf_counter() - start
latencies.sort()
n = len(latencies)
pct = lambda q: latencies[min(n - 1, int(q * n))] * 1000 if n else float('nan')  # noqa: E731
print(f'{topic}: {n} acknowledged, {errors[0]} errors in {elapsed:.2f} s: {n / elapsed:,.0f} msg/s, '
      f'{n * a.size / elapsed / 1e6:.1f} MB/s, latency p50 {pct(0.5):.1f} ms p99 {pct(0.99):.1f} ms (acks={a.acks})')
