"""The consume-transform-produce worker of the chaos suite's transactional workload.

src/txn-workload.ts runs one at a time and starts another when it exits. confluent-kafka-python
(librdkafka): a transactional producer and a read_committed consumer in a group. For each partition
of what one consume() returns, one transaction: the transformed records `<value>>c<txn>` to the
output (record i of input partition p to output partition (p + i) mod P), the input's next offset
with send_offsets_to_transaction and the consumer's group metadata (KIP-447), commit. Some are first
sent in a transaction aborted on purpose, then again.

librdkafka rather than kafkajs: kafkajs 2.2.4's read_committed filter hands over records of aborted
transactions in some interleavings (see the chaos README).

Usage: ctp_worker.py CONFIG_JSON with bootstrap, input, output, partitions, group, transactional_id,
transaction_timeout_ms, first_txn (the number of its first transaction), abort_ratio, seed and
committed ({partition: the next offset sent by the last transaction acknowledged as committed}).

One JSON line per event on stdout:
  {"ev": "ready"}                              InitProducerId done (the previous instance is fenced
                                               and its last transaction complete), consumer subscribed
  {"ev": "assign", "partitions": [...]}
  {"ev": "poll", "partition": p, "offsets": [...], "values": [...]}
  {"ev": "rewind", "partition": p, "from": o, "committed": c, "fresh": bool}
  {"ev": "begin", "txn": n}
  {"ev": "txn", "txn": n, "intent", "end", "outcome", "writes", "input", "error"?}  (history.ts TxnOp)
  {"ev": "error", "error": "..."}
  {"ev": "alive"}                              at least every 2 s while the loop turns (the
                                               supervisor replaces a worker silent for long)
Exits 0 after SIGTERM (once the transaction in flight ended), 3 after an error, 4 when a call
blocked past its timeout (librdkafka 2.0.2's send_offsets_to_transaction does when the group
coordinator cannot be found for a moment: confluentinc/librdkafka#5456); the transaction in flight
is reported first. librdkafka's transaction log (debug "eos") and, when a call blocks for 30 s, the
Python stack go to stderr.
"""
import faulthandler
import json
import os
import random
import signal
import sys
import threading
import time

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

cfg = json.loads(sys.argv[1])
STEP_S = 20  # each blocking call at most
rng = random.Random(cfg["seed"])
committed = {int(p): o for p, o in cfg["committed"].items()}
stopping = False


def on_term(_signum, _frame):
    global stopping
    stopping = True


signal.signal(signal.SIGTERM, on_term)


def say(**event):
    print(json.dumps(event), flush=True)


class Guard:
    """Ends the process (code 4), reporting `op` first, should the call inside take 10 s more than
    its own timeout."""

    def __init__(self, what, op=None):
        self.what = what
        self.op = op

    def fire(self):
        error = f"{self.what} blocked past its timeout of {STEP_S} s"
        if self.op is not None:
            say(**{**self.op, "error": error})
        say(ev="error", error=error)
        os._exit(4)

    def __enter__(self):
        self.timer = threading.Timer(STEP_S + 10, self.fire)
        self.timer.daemon = True
        self.timer.start()

    def __exit__(self, *exc):
        self.timer.cancel()
        return False


def watch():
    """(Re)arms the dump of the Python stack to stderr should the next call block for 30 s."""
    faulthandler.cancel_dump_traceback_later()
    faulthandler.dump_traceback_later(30, repeat=True)


class Restart(Exception):
    pass


class State:
    txn = cfg["first_txn"]
    txns = 0
    txns_at_assign = 0
    checked = set()


def on_assign(_consumer, partitions):
    State.checked = set()
    State.txns_at_assign = State.txns
    say(ev="assign", partitions=sorted(tp.partition for tp in partitions))


def writes_of(p, values, n):
    """The output records of input partition p's records, per output partition."""
    by = {}
    for i, v in enumerate(values):
        by.setdefault((p + i) % cfg["partitions"], []).append(f"{v}>c{n}")
    return [{"topic": cfg["output"], "partition": q, "values": by[q], "acked": False} for q in sorted(by)]


def transact(producer, consumer, p, offsets, values, intent):
    """One transaction over input partition p's records; reported as a "txn" event; its outcome."""
    n = State.txn
    State.txn += 1
    State.txns += 1
    nxt = offsets[-1] + 1
    op = {
        "ev": "txn",
        "txn": n,
        "intent": intent,
        "end": "none",
        "outcome": "fail",
        "writes": writes_of(p, values, n),
        "input": {"topic": cfg["input"], "partition": p, "offsets": offsets, "values": values, "next": nxt},
    }
    say(ev="begin", txn=n)
    watch()
    acks = {}  # (output partition, value) -> offset, or the error
    try:
        producer.begin_transaction()
        for w in op["writes"]:
            for v in w["values"]:

                def done(err, msg, key=(w["partition"], v)):
                    acks[key] = err if err is not None else msg.offset()

                producer.produce(cfg["output"], value=v, partition=w["partition"], on_delivery=done)
        with Guard("flush", op):
            left = producer.flush(STEP_S)
        failed = [a for a in acks.values() if not isinstance(a, int)]
        if left > 0 or failed:
            raise Restart(f"{left} records not delivered; {failed[:1]}")
        # A write is one run of consecutive offsets (history.ts TxnWrite): split where they are not.
        writes = []
        for w in op["writes"]:
            run = None
            for v in w["values"]:
                o = acks[(w["partition"], v)]
                if run is None or o != run["offset"] + len(run["values"]):
                    run = {"topic": w["topic"], "partition": w["partition"], "values": [], "acked": True, "offset": o}
                    writes.append(run)
                run["values"].append(v)
        op["writes"] = writes
        with Guard("send_offsets_to_transaction", op):
            producer.send_offsets_to_transaction(
                [TopicPartition(cfg["input"], p, nxt)], consumer.consumer_group_metadata(), STEP_S
            )
        op["end"] = intent
        op["outcome"] = "info"
        with Guard(f"{intent}_transaction", op):
            if intent == "commit":
                producer.commit_transaction(STEP_S)
            else:
                producer.abort_transaction(STEP_S)
        op["outcome"] = "ok"
    except (KafkaException, Restart) as e:
        op["error"] = str(e)[:300]
    say(**op)
    return op["outcome"]


def main():
    producer = Producer(
        {
            "bootstrap.servers": cfg["bootstrap"],
            "transactional.id": cfg["transactional_id"],
            "transaction.timeout.ms": cfg["transaction_timeout_ms"],
            "message.timeout.ms": cfg["transaction_timeout_ms"],
            "enable.idempotence": True,
            "linger.ms": 5,
            "debug": "eos",
        }
    )
    consumer = None
    code = 0
    try:
        with Guard("init_transactions"):
            producer.init_transactions(STEP_S)
        consumer = Consumer(
            {
                "bootstrap.servers": cfg["bootstrap"],
                "group.id": cfg["group"],
                "isolation.level": "read_committed",
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                "session.timeout.ms": 10000,
                "heartbeat.interval.ms": 1000,
            }
        )
        consumer.subscribe([cfg["input"]], on_assign=on_assign)
        say(ev="ready")
        alive = time.monotonic()
        while not stopping:
            watch()
            if time.monotonic() - alive >= 2:
                alive = time.monotonic()
                say(ev="alive")
            by = {}
            for m in consumer.consume(num_messages=500, timeout=0.5):
                if m.error() is not None:
                    if m.error().fatal():
                        raise KafkaException(m.error())
                    say(ev="error", error=str(m.error()))
                    continue
                by.setdefault(m.partition(), []).append(m)
            for p, msgs in by.items():
                if stopping:
                    break
                offsets = [m.offset() for m in msgs]
                values = [m.value().decode() for m in msgs]
                say(ev="poll", partition=p, offsets=offsets, values=values)
                if p not in State.checked:
                    State.checked.add(p)
                    known = committed.get(p)
                    if known is not None and offsets[0] < known:
                        fresh = State.txns_at_assign == 0
                        say(ev="rewind", partition=p, **{"from": offsets[0]}, committed=known, fresh=fresh)
                        if not fresh:
                            raise Restart(f"rewind: {cfg['input']}-{p} from {offsets[0]}, {known} committed")
                for intent in ["abort", "commit"] if rng.random() < cfg["abort_ratio"] else ["commit"]:
                    outcome = transact(producer, consumer, p, offsets, values, intent)
                    if outcome != "ok":
                        raise Restart(f"transaction ({intent}) {outcome}")
                committed[p] = max(committed.get(p, 0), offsets[-1] + 1)
    except (KafkaException, Restart) as e:
        say(ev="error", error=str(e)[:300])
        code = 3
    finally:
        if consumer is not None:
            consumer.close()
    sys.exit(code)


main()
