"""confluent-kafka-python (librdkafka) against chronik-server: admin, idempotent producer (also across
an epoch bump), a producer at full speed with librdkafka's default pipelining, group-less consumer,
a one-at-a-time producer that reports each message's latency (the hostile-client tests), and a
transactional producer with a read_committed consumer.

Usage: python3 confluent_client.py BOOTSTRAP COMMAND [ARGS]; prints one JSON line with the result.
"""
import json
import sys

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

bootstrap, command = sys.argv[1], sys.argv[2]


def out(obj):
    print(json.dumps(obj), flush=True)


if command == "admin":
    topic = sys.argv[3]
    admin = AdminClient({"bootstrap.servers": bootstrap})
    result = {}
    for t, f in admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)], operation_timeout=10).items():
        f.result()
        result["created"] = t
    try:
        for t, f in admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)]).items():
            f.result()
        result["duplicate"] = "accepted"
    except KafkaException as e:
        result["duplicate"] = e.args[0].name()
    md = admin.list_topics(timeout=10)
    result["partitions"] = len(md.topics[topic].partitions)
    for t, f in admin.delete_topics([topic], operation_timeout=10).items():
        f.result()
    result["after_delete"] = topic in admin.list_topics(timeout=10).topics
    out(result)
elif command == "produce":
    topic, count = sys.argv[3], int(sys.argv[4])
    p = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "acks": "all", "linger.ms": 5, "compression.type": "lz4"})
    delivered, errors = [], []

    def cb(err, msg):
        if err is not None:
            errors.append(str(err))
        else:
            delivered.append([msg.partition(), msg.offset(), msg.value().decode()])

    for i in range(count):
        p.produce(topic, key=f"k{i % 10}", value=f"value-{i}", on_delivery=cb)
        if i % 1000 == 0:
            p.poll(0)
    remaining = p.flush(30)
    out({"delivered": len(delivered), "errors": errors[:5], "remaining": remaining, "offsets": delivered})
elif command == "produce-flood":
    # librdkafka at full speed with its defaults for in-flight requests (up to a million per
    # connection), not idempotent, acks=all: COUNT values of SIZE bytes, each "<i>:" then padding.
    # Prints the delivered offsets in order of delivery and the errors.
    topic, count, size = sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
    p = Producer(
        {
            "bootstrap.servers": bootstrap,
            "enable.idempotence": False,
            "acks": "all",
            "linger.ms": 5,
            "batch.size": 1000000,
            "message.send.max.retries": 0,
        }
    )
    delivered, errors = [], []

    def cb(err, msg):
        if err is not None:
            errors.append(str(err))
        else:
            delivered.append([int(msg.value().split(b":", 1)[0]), msg.offset()])

    pad = "x" * size
    for i in range(count):
        while True:
            try:
                p.produce(topic, value=f"{i}:{pad}", partition=0, on_delivery=cb)
                break
            except BufferError:
                p.poll(0.05)
        p.poll(0)
    remaining = p.flush(60)
    out({"delivered": delivered, "errors": errors[:5], "error_count": len(errors), "remaining": remaining})
elif command == "produce-stall":
    # One message delivered; the broker process is stopped (SIGSTOP) while the next is in flight, so
    # it times out and librdkafka bumps its epoch (KIP-360: locally, never through InitProducerId);
    # after SIGCONT two more are produced with the bumped epoch.
    import os
    import signal
    import time

    topic, broker_pid = sys.argv[3], int(sys.argv[4])
    p = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "acks": "all", "linger.ms": 0, "message.timeout.ms": 3000})
    results = []

    def cb(err, msg):
        results.append([msg.value().decode(), None if err is None else err.name(), msg.offset()])

    p.produce(topic, value="before", on_delivery=cb)
    p.flush(30)
    os.kill(broker_pid, signal.SIGSTOP)
    try:
        p.produce(topic, value="stalled", on_delivery=cb)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            p.poll(0.2)
    finally:
        os.kill(broker_pid, signal.SIGCONT)
    for value in ("after-1", "after-2"):
        p.produce(topic, value=value, on_delivery=cb)
    remaining = p.flush(30)
    out({"results": results, "remaining": remaining})
elif command == "latency-probe":
    # A well-behaved producer for the hostile-client tests: one message at a time (acks=1,
    # linger.ms=0), each waited for, with PAUSE_MS (default 10) between them, for SECONDS; prints
    # one JSON line per message as it is delivered: {"t": wall-clock ms when it was sent, "ms":
    # latency, "err": null or the error}.
    import time

    topic, seconds = sys.argv[3], float(sys.argv[4])
    pause = (float(sys.argv[5]) if len(sys.argv) > 5 else 10.0) / 1000
    p = Producer({"bootstrap.servers": bootstrap, "acks": 1, "linger.ms": 0, "message.timeout.ms": 30000})
    p.produce(topic, value=b"warm-up")
    p.flush(30)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        result = {}

        def cb(err, msg, result=result):
            result["err"] = None if err is None else str(err)

        sent_wall = time.time() * 1000
        start = time.monotonic()
        p.produce(topic, value=b"probe", on_delivery=cb)
        p.flush(30)
        out({"t": sent_wall, "ms": (time.monotonic() - start) * 1000, "err": result.get("err", "not delivered")})
        time.sleep(pause)
    out({"done": True})
elif command == "consume":
    topic, partitions = sys.argv[3], int(sys.argv[4])
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "unused-assign-only", "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    c.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    values, idle = [], 0
    while idle < 20:
        m = c.poll(0.25)
        if m is None:
            idle += 1
            continue
        if m.error():
            if m.error().code() == -191:  # partition EOF
                continue
            out({"error": str(m.error())})
            sys.exit(1)
        idle = 0
        values.append(m.value().decode())
    c.close()
    out({"values": values})
elif command == "transactions":
    # The transactional API: a committed transaction (three records and the group's offset 3 of the
    # input's partition 0), an aborted one (two records and offset 9), then a read_committed consumer
    # reads the output, and the group's committed offset is fetched.
    out_topic, in_topic, group = sys.argv[3], sys.argv[4], sys.argv[5]
    errors = []
    p = Producer({"bootstrap.servers": bootstrap, "transactional.id": "tx-py", "transaction.timeout.ms": 60000})
    p.init_transactions(30)
    group_meta = Consumer({"bootstrap.servers": bootstrap, "group.id": group}).consumer_group_metadata()
    # abort_transaction purges the aborted transaction's records not sent yet, reporting each as
    # _PURGE_QUEUE (on a loaded machine, before its AddPartitionsToTxn is answered): not an error.
    def on_delivery(err, msg):
        if err is not None and err.code() != KafkaError._PURGE_QUEUE:
            errors.append(str(err))

    for prefix, offset, commit in (("py-c", 3, True), ("py-a", 9, False)):
        p.begin_transaction()
        for i in range(3 if commit else 2):
            p.produce(out_topic, value=f"{prefix}{i}", on_delivery=on_delivery)
        p.send_offsets_to_transaction([TopicPartition(in_topic, 0, offset)], group_meta, 30)
        if commit:
            p.commit_transaction(30)
        else:
            p.abort_transaction(30)
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group + "-reader", "isolation.level": "read_committed",
                  "auto.offset.reset": "earliest", "enable.auto.commit": False})
    c.subscribe([out_topic])
    values, idle = [], 0
    while idle < 40 and (len(values) < 3 or idle < 8):
        m = c.poll(0.25)
        if m is None:
            idle += 1
            continue
        if m.error():
            if m.error().code() == -191:  # partition EOF
                continue
            errors.append(str(m.error()))
            break
        idle = 0
        values.append(m.value().decode())
    c.close()
    reader = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    committed = reader.committed([TopicPartition(in_topic, 0)], timeout=10)[0].offset
    reader.close()
    out({"read_committed": sorted(values), "committed_offset": committed, "errors": errors[:5]})
else:
    raise SystemExit(f"unknown command {command}")
