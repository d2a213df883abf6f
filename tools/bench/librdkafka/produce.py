#!/usr/bin/python3
"""librdkafka produce load for chronik-bench: confluent-kafka-python (Debian python3-confluent-kafka)
driving librdkafka, with the latency of every message from its delivery report.

Max mode (no --rate): produce() as fast as librdkafka's queue takes it; latency = Message.latency()
(produce() call -> broker acknowledgement, librdkafka's own measurement), so under full load it
includes the time a message waited in the client's queue.

Fixed-rate mode (--rate): an open-loop schedule in 1 ms ticks; each message's latency counts from
its intended send time, so a client or broker that falls behind shows in the percentiles (no
coordinated omission). A run whose acknowledgements fall more than 2 s behind schedule stops (the
messages still queued in the client are purged) and reports "saturated".

Transactional mode (--transaction-records N, max mode only, needs -X transactional.id=...): the
records go in transactions of N, one at a time (begin, produce, commit_transaction()); the output
adds the number of transactions and the p50 / p99 / max duration of one (begin -> commit returned).

Prints one JSON object on stdout: msgs, errors, seconds, msgPerSec, p50/p99/p999/max in ms, the
process CPU time (librdkafka's threads included) and the first error.
"""
import argparse
import json
import resource
import sys
import time

from confluent_kafka import KafkaError, KafkaException, Producer


def percentile(sorted_values, q):
    if not sorted_values:
        return None
    rank = max(1, -(-int(q * 1_000_000) * len(sorted_values) // 1_000_000))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--bootstrap', required=True)
    ap.add_argument('--topic', required=True)
    ap.add_argument('--count', type=int, required=True)
    ap.add_argument('--size', type=int, required=True)
    ap.add_argument('--acks', default='all')
    ap.add_argument('--rate', type=float, default=0.0, help='messages per second; 0 = as fast as possible')
    ap.add_argument('--timeout', type=float, default=120.0, help='whole run limit, seconds')
    ap.add_argument('--max-lag', type=float, default=2.0, help='fixed rate: seconds behind schedule that end the run')
    ap.add_argument('--transaction-records', type=int, default=0,
                    help='records per transaction (max mode; needs -X transactional.id=...)')
    ap.add_argument('-X', dest='props', action='append', default=[], help='librdkafka property key=value')
    a = ap.parse_args()
    if a.count <= 0 or a.size <= 0:
        ap.error('--count and --size must be positive')
    if a.transaction_records < 0:
        ap.error('--transaction-records must be positive')
    if a.transaction_records > 0 and a.rate > 0:
        ap.error('--transaction-records runs in max mode only (no --rate)')

    conf = {'bootstrap.servers': a.bootstrap, 'acks': a.acks}
    for p in a.props:
        k, _, v = p.partition('=')
        conf[k] = v
    if a.transaction_records > 0 and not conf.get('transactional.id'):
        ap.error('--transaction-records needs -X transactional.id=...')
    errors = [0]
    first_error = [None]
    latencies = []
    acked = [0]
    last_ack = [0.0]

    stopping = [False]

    def report_error(err):
        if stopping[0] and getattr(err, 'code', lambda: None)() == KafkaError._PURGE_QUEUE:
            return  # dropped on purpose after the run fell behind
        errors[0] += 1
        if first_error[0] is None:
            first_error[0] = str(err)

    def on_delivery_max(err, msg):
        if err is not None:
            report_error(err)
            return
        acked[0] += 1
        latencies.append(msg.latency())

    def on_delivery_rate(intended):
        def cb(err, msg):
            if err is not None:
                report_error(err)
                return
            now = time.perf_counter()
            acked[0] += 1
            last_ack[0] = now
            latencies.append(now - intended)
        return cb

    producer = Producer(conf, error_cb=lambda e: report_error(e) if e.fatal() else None)
    value = bytes((97 + i % 26) for i in range(a.size))
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    deadline = start + a.timeout
    sent = 0
    saturated = False
    txn_durations = []
    produce = producer.produce
    try:
        if a.transaction_records > 0:
            # The warm-up: the producer id, the coordinator and one transaction, not counted.
            producer.init_transactions(60)
            producer.begin_transaction()
            produce(a.topic, value)
            producer.commit_transaction(60)
            cpu0 = resource.getrusage(resource.RUSAGE_SELF)
            start = time.perf_counter()
            deadline = start + a.timeout
            while sent < a.count and errors[0] == 0 and time.perf_counter() < deadline:
                begun = time.perf_counter()
                producer.begin_transaction()
                last = min(a.count, sent + a.transaction_records)
                while sent < last and errors[0] == 0:
                    try:
                        produce(a.topic, value, on_delivery=on_delivery_max)
                        sent += 1
                        if sent & 1023 == 0:
                            producer.poll(0)
                    except BufferError:
                        producer.poll(0.001)
                if errors[0] > 0:
                    break
                producer.commit_transaction(max(1.0, deadline - time.perf_counter()))
                txn_durations.append(time.perf_counter() - begun)
        elif a.rate <= 0:
            while sent < a.count and errors[0] == 0:
                try:
                    produce(a.topic, value, on_delivery=on_delivery_max)
                    sent += 1
                    if sent & 1023 == 0:
                        producer.poll(0)
                        if time.perf_counter() > deadline:
                            break
                except BufferError:
                    producer.poll(0.001)
        else:
            per_sec = a.rate
            while sent < a.count and errors[0] == 0:
                now = time.perf_counter()
                if now > deadline:
                    break
                due = min(a.count, int((now - start) * per_sec) + 1)
                # Behind schedule by more than max_lag, counting acknowledgements (librdkafka's queue
                # takes everything, so what was handed to it says nothing about the broker).
                if (due - acked[0]) / per_sec > a.max_lag:
                    saturated = True
                    stopping[0] = True
                    producer.purge(in_queue=True, in_flight=False)
                    break
                while sent < due:
                    intended = start + sent / per_sec
                    try:
                        produce(a.topic, value, on_delivery=on_delivery_rate(intended))
                        sent += 1
                    except BufferError:
                        producer.poll(0.001)
                        break
                producer.poll(0)
                slack = start + sent / per_sec - time.perf_counter()
                time.sleep(min(0.001, slack) if slack > 0 else 0)
        left = max(1.0, deadline - time.perf_counter())
        remaining = producer.flush(left)
    except KafkaException as e:
        report_error(e)
        remaining = -1
    end = time.perf_counter()
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    seconds = end - start
    latencies.sort()
    txn_durations.sort()
    ms = lambda x: None if x is None else x * 1000.0
    out = {
        'msgs': acked[0],
        'sent': sent,
        'errors': errors[0],
        'undelivered': remaining,
        'seconds': seconds,
        'msgPerSec': acked[0] / seconds if seconds > 0 else None,
        'p50Ms': ms(percentile(latencies, 0.5)),
        'p99Ms': ms(percentile(latencies, 0.99)),
        'p999Ms': ms(percentile(latencies, 0.999)),
        'maxMs': ms(latencies[-1] if latencies else None),
        'transactions': len(txn_durations),
        'txnP50Ms': ms(percentile(txn_durations, 0.5)),
        'txnP99Ms': ms(percentile(txn_durations, 0.99)),
        'txnMaxMs': ms(txn_durations[-1] if txn_durations else None),
        'cpuSeconds': (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime),
        'saturated': saturated,
        'error': first_error[0],
        'librdkafka': __import__('confluent_kafka').libversion()[0],
    }
    json.dump(out, sys.stdout)
    sys.stdout.write('\n')
    return 0 if errors[0] == 0 and not saturated and acked[0] == a.count else 1


if __name__ == '__main__':
    sys.exit(main())
