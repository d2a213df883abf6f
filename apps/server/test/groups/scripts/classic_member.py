"""A classic-protocol member (confluent-kafka-python / librdkafka, eager range) of a group that may
be a Kafka 4 mixed group; driven by a parent process (mixed-group.mjs).

Usage: python3 classic_member.py BOOTSTRAP TOPIC GROUP
Prints one JSON line per event: {"assigned": [partitions]} on each assignment, {"v": value,
"p": partition} for each record consumed and committed (synchronously, before the next poll),
{"uncommitted": reason} for one whose commit was refused (a rebalance: it comes again),
{"error": text}; {"closed": true} after SIGTERM has made it leave the group.
"""
import json
import signal
import sys

from confluent_kafka import Consumer, KafkaError

bootstrap, topic, group = sys.argv[1], sys.argv[2], sys.argv[3]
stop = False


def on_term(_signum, _frame):
    global stop
    stop = True


signal.signal(signal.SIGTERM, on_term)


def out(obj):
    print(json.dumps(obj), flush=True)


c = Consumer(
    {
        "bootstrap.servers": bootstrap,
        "group.id": group,
        "client.id": "mixed-python",
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "session.timeout.ms": 10000,
        "heartbeat.interval.ms": 500,
        "partition.assignment.strategy": "range",
    }
)
c.subscribe([topic], on_assign=lambda _c, ps: out({"assigned": [p.partition for p in ps]}))
while not stop:
    m = c.poll(0.1)
    if m is None:
        continue
    if m.error():
        if m.error().code() != KafkaError._PARTITION_EOF:
            out({"error": str(m.error())})
        continue
    try:
        c.commit(message=m, asynchronous=False)
    except Exception as e:  # a commit refused during a rebalance: the record may come again
        out({"uncommitted": f"{e}"})
        continue
    out({"v": m.value().decode(), "p": m.partition()})
c.close()
out({"closed": True})
