"""Produces a few records and reads them back with confluent-kafka-python (librdkafka), with the
security settings given as JSON (security.protocol, ssl.*, sasl.*), and prints one JSON line:
  {"ok": true, "values": [...]} or {"ok": false, "error": "<name>", "text": "..."}.

Usage: secure_client.py <bootstrap> <topic> '<json of extra client settings>'
"""
import json
import sys
import uuid

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer

bootstrap, topic, extra = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
base = {"bootstrap.servers": bootstrap, "socket.timeout.ms": 10000, **extra}
errors = []


def on_error(err):
    errors.append(err)


try:
    producer = Producer({**base, "acks": "all", "error_cb": on_error, "message.timeout.ms": 15000})
    values = ["secure-%d" % i for i in range(3)]
    for v in values:
        producer.produce(topic, v.encode())
    left = producer.flush(20)
    if left > 0 or errors:
        err = errors[0] if errors else None
        print(json.dumps({"ok": False, "error": err.name() if err else "TIMED_OUT", "text": str(err)}))
        sys.exit(0)
    consumer = Consumer(
        {**base, "group.id": "secure-" + uuid.uuid4().hex, "auto.offset.reset": "earliest", "error_cb": on_error}
    )
    consumer.subscribe([topic])
    got = []
    for _ in range(150):
        m = consumer.poll(0.2)
        if m is not None and m.error():
            errors.append(m.error())
            if not m.error().retriable() and m.error().code() != KafkaError._PARTITION_EOF:
                break
        if m is None or m.error():
            continue
        got.append(m.value().decode())
        if len(got) == len(values):
            break
    consumer.close()
    out = {"ok": got == values, "values": got}
    if got != values and errors:
        out["error"] = errors[0].name()
    print(json.dumps(out))
except KafkaException as e:
    err = e.args[0]
    print(json.dumps({"ok": False, "error": err.name(), "text": err.str()}))
