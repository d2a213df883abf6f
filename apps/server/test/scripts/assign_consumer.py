"""Reads partition 0 of a topic from offset 0 with librdkafka (confluent-kafka-python), without a
group, through whatever failovers happen meanwhile, and prints one line per event:
  V <value>        a record
  RESET <text>     librdkafka reset the position (auto.offset.reset) — the broker said the
                   position was out of range, or a KIP-320 validation found the log truncated
  ERROR <text>     any other consumer error (informational: transient errors are expected)
  DONE             the stop file exists and nothing arrived for 3 s

Usage: assign_consumer.py <bootstrap> <topic> <auto.offset.reset> <stop-file>
"""
import os
import sys
import time

from confluent_kafka import Consumer, KafkaError, TopicPartition

bootstrap, topic, reset, stop_file = sys.argv[1:5]
consumer = Consumer(
    {
        "bootstrap.servers": bootstrap,
        "group.id": "assign-only-" + reset,  # required by the client; assign() joins no group
        "enable.auto.commit": False,
        "auto.offset.reset": reset,
        "topic.metadata.refresh.interval.ms": 1000,
        "reconnect.backoff.max.ms": 500,
        "socket.timeout.ms": 5000,
    }
)
consumer.assign([TopicPartition(topic, 0, 0)])
out = []
idle_since = time.time()
while True:
    m = consumer.poll(0.2)
    if m is None:
        if os.path.exists(stop_file) and time.time() - idle_since > 3:
            break
        continue
    err = m.error()
    if err is not None:
        kind = "RESET" if err.code() == KafkaError._AUTO_OFFSET_RESET else "ERROR"
        out.append(kind + " " + err.str())
        continue
    idle_since = time.time()
    out.append("V " + m.value().decode())
consumer.close()
sys.stdout.write("\n".join(out + ["DONE"]) + "\n")
