"""confluent-kafka-python (librdkafka) consumer groups against chronik-server.

Usage: python3 confluent_groups.py BOOTSTRAP COMMAND [ARGS]; prints one JSON line with the result.
  produce TOPIC FROM COUNT PARTITIONS        creates TOPIC with PARTITIONS if needed; acks=all producer,
                                             values "v<i>" to partition i % PARTITIONS
  consume TOPIC GROUP EXPECTED [STRATEGY] [INSTANCE_ID]
                                             subscribe in GROUP, read until EXPECTED records and
                                             then 3 s of silence, commit synchronously, close
  two-members TOPIC GROUP EXPECTED STRATEGY  two consumers of one group in this process
"""
import json
import sys
import time

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient, NewTopic

bootstrap, command = sys.argv[1], sys.argv[2]


def out(obj):
    print(json.dumps(obj), flush=True)


def consumer(group, strategy="range", instance_id=None):
    conf = {
        "bootstrap.servers": bootstrap,
        "group.id": group,
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "session.timeout.ms": 10000,
        "heartbeat.interval.ms": 500,
        "partition.assignment.strategy": strategy,
    }
    if instance_id:
        conf["group.instance.id"] = instance_id
    return Consumer(conf)


def poll_one(c, values, errors):
    m = c.poll(0.1)
    if m is None:
        return False
    if m.error():
        if m.error().code() != KafkaError._PARTITION_EOF:
            errors.append(str(m.error()))
        return False
    values.append(m.value().decode())
    return True


if command == "produce":
    topic, start, count, partitions = sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
    admin = AdminClient({"bootstrap.servers": bootstrap})
    try:
        for f in admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)], operation_timeout=10).values():
            f.result()
    except KafkaException as e:
        if e.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
            raise
    p = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
    errors = []
    for i in range(start, start + count):
        p.produce(topic, value=f"v{i}", partition=i % partitions, on_delivery=lambda err, msg: errors.append(str(err)) if err else None)
    remaining = p.flush(30)
    out({"errors": errors[:5], "remaining": remaining})
elif command == "consume":
    topic, group, expected = sys.argv[3], sys.argv[4], int(sys.argv[5])
    strategy = sys.argv[6] if len(sys.argv) > 6 else "range"
    instance_id = sys.argv[7] if len(sys.argv) > 7 else None
    c = consumer(group, strategy, instance_id)
    c.subscribe([topic])
    values, errors = [], []
    deadline = time.time() + 60
    quiet_until = None
    while time.time() < deadline:
        got = poll_one(c, values, errors)
        if len(values) >= expected:
            if got or quiet_until is None:
                quiet_until = time.time() + 3
            elif time.time() > quiet_until:
                break
    committed = []
    if values:
        c.commit(asynchronous=False)
        committed = [[tp.partition, tp.offset] for tp in c.committed(c.assignment(), timeout=10)]
    assignment = sorted(tp.partition for tp in c.assignment())
    c.close()
    out({"values": values, "errors": errors[:5], "committed": sorted(committed), "assignment": assignment})
elif command == "two-members":
    topic, group, expected, strategy = sys.argv[3], sys.argv[4], int(sys.argv[5]), sys.argv[6]
    a, b = consumer(group, strategy), consumer(group, strategy)
    a.subscribe([topic])
    values_a, values_b, errors = [], [], []
    deadline = time.time() + 60
    # a alone first, then b joins: with cooperative-sticky a keeps what it is not asked to give up
    while time.time() < deadline and len(a.assignment()) == 0:
        poll_one(a, values_a, errors)
    first_a = sorted(tp.partition for tp in a.assignment())
    b.subscribe([topic])
    while time.time() < deadline:
        poll_one(a, values_a, errors)
        poll_one(b, values_b, errors)
        # Nothing is committed, so a partition that moves from a to b is read again from the start
        # by b: duplicates are expected (at-least-once); what must hold is that every record is read.
        if len(a.assignment()) > 0 and len(b.assignment()) > 0 and len(set(values_a) | set(values_b)) >= expected:
            break
    assignment_a = sorted(tp.partition for tp in a.assignment())
    assignment_b = sorted(tp.partition for tp in b.assignment())
    a.close()
    b.close()
    out({"first_a": first_a, "a": assignment_a, "b": assignment_b, "values": sorted(set(values_a) | set(values_b)),
         "reads": len(values_a) + len(values_b), "errors": errors[:5]})
else:
    raise SystemExit(f"unknown command {command}")
