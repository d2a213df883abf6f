/*
 * librdkafka produce load for chronik-bench, in C on Debian's librdkafka-dev: the same options and
 * the same JSON line as produce.py, without Python's per-message cost. On a 2-core machine that
 * also runs three brokers, the Python driver's produce() loop takes about half a core at 165,000
 * msg/s; this one takes a small fraction of it, so the brokers, not the client, set the numbers.
 *
 * Max mode (no --rate): produce as fast as librdkafka's queue takes messages; latency is
 * rd_kafka_message_latency() (produce call -> acknowledgement, librdkafka's own measurement), so
 * under full load it includes the time a message waited in the client's queue.
 *
 * Fixed-rate mode (--rate): an open-loop schedule in 1 ms ticks; each message's latency counts from
 * its intended send time, so a client or broker that falls behind shows in the percentiles (no
 * coordinated omission). A run whose acknowledgements fall more than --max-lag seconds behind the
 * schedule stops (messages still queued in the client are purged) and reports "saturated".
 * Before either, one message to each partition warms the connections up; it is not counted.
 * --timeline FILE (fixed rate) writes the worst latency of each 100 ms of the schedule, for finding
 * when a tail happened.
 *
 * Transactional mode (--transaction-records N, max mode only, needs -X transactional.id=...): after
 * rd_kafka_init_transactions(), the records go in transactions of N (the last one may be shorter):
 * begin, produce N, rd_kafka_commit_transaction(), which waits for every record of the transaction
 * and for the coordinator's commit. One transaction at a time, as a transactional producer runs;
 * the JSON line adds the number of transactions and the p50 / p99 / max of one transaction's
 * duration (begin -> commit returned). The warm-up is a transaction of one record per partition
 * (the first init_transactions may wait for the broker to create its transaction state).
 *
 * Build: cc -O2 -o produce produce.c -lrdkafka (chronik-bench does it; Debian: librdkafka-dev).
 * `produce --version` prints the librdkafka version.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

#define MAX_PROPS 64

struct run_state {
  double *latencies; /* seconds, one per acknowledged message */
  double *by_index;  /* fixed rate with --timeline: latency by message index (NaN = not acknowledged) */
  long acked;
  long errors;
  int stopping;
  char first_error[512];
  double start;
  double rate; /* messages per second; 0 = max mode */
  double *txn_durations; /* transactional mode: seconds from begin to commit, one per transaction */
  long txns;
};

static struct run_state st;

/* SIGTERM / SIGINT: stop producing, flush what is queued and report as at the end of the run (a
   fixed-rate load that runs as long as another measurement does, e.g. the failover script). */
static volatile sig_atomic_t stop_requested = 0;
static void on_stop_signal(int sig) {
  (void)sig;
  stop_requested = 1;
}

/* The opaque of the warm-up messages, which are not counted. */
#define WARMUP ((void *)(intptr_t)-1)

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_s(double s) {
  if (s <= 0) return;
  struct timespec ts;
  ts.tv_sec = (time_t)s;
  ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
  nanosleep(&ts, NULL);
}

static void report_error(const char *what) {
  st.errors++;
  if (st.first_error[0] == '\0') snprintf(st.first_error, sizeof st.first_error, "%s", what);
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
  (void)rk;
  (void)opaque;
  if (m->_private == WARMUP) {
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) report_error(rd_kafka_err2str(m->err));
    return;
  }
  if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    if (st.stopping && m->err == RD_KAFKA_RESP_ERR__PURGE_QUEUE) return; /* dropped on purpose */
    report_error(rd_kafka_err2str(m->err));
    return;
  }
  double latency;
  if (st.rate > 0) {
    long index = (long)(intptr_t)m->_private;
    latency = now_s() - (st.start + (double)index / st.rate);
    if (st.by_index != NULL) st.by_index[index] = latency;
  } else {
    int64_t us = rd_kafka_message_latency(m);
    latency = us < 0 ? 0 : (double)us / 1e6;
  }
  st.latencies[st.acked++] = latency;
}

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque) {
  (void)opaque;
  (void)reason;
  /* Only fatal errors count: librdkafka retries transient ones (a broker restarting, a leader
     moving) by itself, and the delivery reports say whether a message made it. */
  if (err == RD_KAFKA_RESP_ERR__FATAL) {
    char buf[512];
    rd_kafka_fatal_error(rk, buf, sizeof buf);
    report_error(buf);
  }
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y ? 1 : 0;
}

/* Nearest-rank percentile (the same rule as produce.py); q in parts per million. */
static void print_percentile(const char *name, const double *sorted, long n, long q_ppm) {
  if (n == 0) {
    printf("\"%s\": null, ", name);
    return;
  }
  long rank = (long)(((int64_t)q_ppm * n + 999999) / 1000000);
  if (rank < 1) rank = 1;
  if (rank > n) rank = n;
  printf("\"%s\": %.6f, ", name, sorted[rank - 1] * 1000.0);
}

static void json_string(const char *s) {
  putchar('"');
  for (; *s; s++) {
    if (*s == '"' || *s == '\\') putchar('\\');
    if ((unsigned char)*s < 0x20) printf("\\u%04x", *s);
    else putchar(*s);
  }
  putchar('"');
}

/* A transaction call's outcome: 0, or -1 with the error reported (the error object destroyed). */
static int txn_failed(rd_kafka_error_t *error, const char *what) {
  if (error == NULL) return 0;
  char buf[512];
  snprintf(buf, sizeof buf, "%s: %s", what, rd_kafka_error_string(error));
  report_error(buf);
  rd_kafka_error_destroy(error);
  return -1;
}

/* Commits the open transaction; what librdkafka calls retriable (a timeout) is retried until
   `deadline`. Any other error fails the run: a benchmark does not abort and carry on. */
static int commit_txn(rd_kafka_t *rk, double deadline) {
  for (;;) {
    double left = deadline - now_s();
    rd_kafka_error_t *error = rd_kafka_commit_transaction(rk, left < 1.0 ? 1000 : (int)(left * 1000));
    if (error != NULL && rd_kafka_error_is_retriable(error) && now_s() < deadline) {
      rd_kafka_error_destroy(error);
      continue;
    }
    return txn_failed(error, "commit_transaction");
  }
}

static void usage(const char *msg) {
  fprintf(stderr, "produce: %s\nusage: produce --bootstrap H:P[,..] --topic T --count N --size B [--acks all|1] [--rate R | --transaction-records N] [--timeout S] [--max-lag S] [--timeline FILE] [-X key=value]...\n", msg);
  exit(2);
}

int main(int argc, char **argv) {
  const char *bootstrap = NULL, *topic = NULL, *acks = "all", *timeline = NULL;
  long count = 0, size = 0, txn_records = 0;
  double timeout = 120.0, max_lag = 2.0;
  char *props[MAX_PROPS];
  int nprops = 0;
  if (argc == 2 && !strcmp(argv[1], "--version")) {
    printf("librdkafka %s\n", rd_kafka_version_str());
    return 0;
  }
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (i + 1 >= argc) usage("every option takes a value");
    const char *v = argv[++i];
    if (!strcmp(a, "--bootstrap")) bootstrap = v;
    else if (!strcmp(a, "--topic")) topic = v;
    else if (!strcmp(a, "--count")) count = strtol(v, NULL, 10);
    else if (!strcmp(a, "--size")) size = strtol(v, NULL, 10);
    else if (!strcmp(a, "--acks")) acks = v;
    else if (!strcmp(a, "--rate")) st.rate = strtod(v, NULL);
    else if (!strcmp(a, "--timeout")) timeout = strtod(v, NULL);
    else if (!strcmp(a, "--max-lag")) max_lag = strtod(v, NULL);
    else if (!strcmp(a, "--timeline")) timeline = v;
    else if (!strcmp(a, "--transaction-records")) txn_records = strtol(v, NULL, 10);
    else if (!strcmp(a, "-X")) {
      if (nprops == MAX_PROPS) usage("too many -X options");
      props[nprops++] = (char *)v;
    } else usage("unknown option");
  }
  if (bootstrap == NULL || topic == NULL) usage("--bootstrap and --topic are required");
  if (count <= 0 || size <= 0) usage("--count and --size must be positive");
  if (txn_records < 0) usage("--transaction-records must be positive");
  if (txn_records > 0 && st.rate > 0) usage("--transaction-records runs in max mode only (no --rate)");

  char errstr[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, errstr, sizeof errstr) != RD_KAFKA_CONF_OK ||
      rd_kafka_conf_set(conf, "acks", acks, errstr, sizeof errstr) != RD_KAFKA_CONF_OK)
    usage(errstr);
  for (int i = 0; i < nprops; i++) {
    char *eq = strchr(props[i], '=');
    if (eq == NULL) usage("-X needs key=value");
    *eq = '\0';
    if (rd_kafka_conf_set(conf, props[i], eq + 1, errstr, sizeof errstr) != RD_KAFKA_CONF_OK) usage(errstr);
  }
  if (txn_records > 0) {
    char id[256];
    size_t id_size = sizeof id;
    if (rd_kafka_conf_get(conf, "transactional.id", id, &id_size) != RD_KAFKA_CONF_OK || id[0] == '\0')
      usage("--transaction-records needs -X transactional.id=...");
  }
  rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
  rd_kafka_conf_set_error_cb(conf, on_error);
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  if (rk == NULL) usage(errstr);
  rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);

  st.latencies = malloc(sizeof(double) * (size_t)count);
  char *value = malloc((size_t)size);
  if (txn_records > 0) st.txn_durations = malloc(sizeof(double) * (size_t)((count + txn_records - 1) / txn_records));
  if (st.latencies == NULL || value == NULL || (txn_records > 0 && st.txn_durations == NULL)) usage("out of memory");
  for (long i = 0; i < size; i++) value[i] = (char)('a' + i % 26);
  if (timeline != NULL && st.rate > 0) {
    st.by_index = malloc(sizeof(double) * (size_t)count);
    if (st.by_index == NULL) usage("out of memory");
    for (long i = 0; i < count; i++) st.by_index[i] = -1;
  }

  /* Warm-up, not measured: the topic's metadata and one message to each partition, so that the
     connections to every leader exist before the schedule starts (otherwise the first few hundred
     ms of a fixed-rate run measure the client's bootstrap, not the broker). */
  const struct rd_kafka_metadata *md = NULL;
  if (rd_kafka_metadata(rk, 0, rkt, &md, 10000) != RD_KAFKA_RESP_ERR_NO_ERROR || md->topic_cnt != 1 || md->topics[0].err) {
    fprintf(stderr, "produce: no metadata for topic %s\n", topic);
    return 1;
  }
  int partitions = md->topics[0].partition_cnt;
  rd_kafka_metadata_destroy(md);
  /* A transactional producer warms up with one transaction: its producer id, its coordinator (the
     broker may create its transaction state first) and the marker path. */
  int warm = txn_records == 0 || (!txn_failed(rd_kafka_init_transactions(rk, 60000), "init_transactions") &&
                                  !txn_failed(rd_kafka_begin_transaction(rk), "begin_transaction"));
  if (warm) {
    for (int p = 0; p < partitions; p++) rd_kafka_produce(rkt, p, 0, value, (size_t)size, NULL, 0, WARMUP);
    if (txn_records > 0) commit_txn(rk, now_s() + 60.0);
    else rd_kafka_flush(rk, 10000);
  }
  if (st.errors > 0 || rd_kafka_outq_len(rk) > 0) {
    fprintf(stderr, "produce: warm-up failed: %s\n", st.first_error[0] ? st.first_error : "not acknowledged in 10 s");
    return 1;
  }

  struct rusage ru0, ru1;
  getrusage(RUSAGE_SELF, &ru0);
  signal(SIGTERM, on_stop_signal);
  signal(SIGINT, on_stop_signal);
  st.start = now_s();
  double deadline = st.start + timeout;
  long sent = 0;
  int saturated = 0;
  while (txn_records > 0 && sent < count && st.errors == 0 && now_s() < deadline) {
    /* One transaction: begin, its records (as in max mode), commit. */
    double begun = now_s();
    if (txn_failed(rd_kafka_begin_transaction(rk), "begin_transaction")) break;
    long last = sent + txn_records < count ? sent + txn_records : count;
    while (sent < last && st.errors == 0) {
      if (rd_kafka_produce(rkt, RD_KAFKA_PARTITION_UA, 0, value, (size_t)size, NULL, 0, NULL) == -1) {
        if (rd_kafka_last_error() != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
          report_error(rd_kafka_err2str(rd_kafka_last_error()));
          break;
        }
        rd_kafka_poll(rk, 1);
        continue;
      }
      sent++;
      if ((sent & 1023) == 0) rd_kafka_poll(rk, 0);
    }
    if (st.errors > 0 || commit_txn(rk, deadline)) break;
    st.txn_durations[st.txns++] = now_s() - begun;
  }
  while (txn_records == 0 && sent < count && st.errors == 0 && !stop_requested) {
    double now = now_s();
    if (now > deadline) break;
    if (st.rate <= 0) {
      if (rd_kafka_produce(rkt, RD_KAFKA_PARTITION_UA, 0, value, (size_t)size, NULL, 0, NULL) == -1) {
        if (rd_kafka_last_error() != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
          report_error(rd_kafka_err2str(rd_kafka_last_error()));
          break;
        }
        rd_kafka_poll(rk, 1);
        continue;
      }
      sent++;
      if ((sent & 1023) == 0) rd_kafka_poll(rk, 0);
      continue;
    }
    long due = (long)((now - st.start) * st.rate) + 1;
    if (due > count) due = count;
    /* Behind schedule by more than max_lag, counting acknowledgements (librdkafka's queue takes
       everything, so what was handed to it says nothing about the broker). */
    if ((double)(due - st.acked) / st.rate > max_lag) {
      saturated = 1;
      st.stopping = 1;
      rd_kafka_purge(rk, RD_KAFKA_PURGE_F_QUEUE);
      break;
    }
    while (sent < due) {
      if (rd_kafka_produce(rkt, RD_KAFKA_PARTITION_UA, 0, value, (size_t)size, NULL, 0, (void *)(intptr_t)sent) == -1) {
        if (rd_kafka_last_error() != RD_KAFKA_RESP_ERR__QUEUE_FULL) report_error(rd_kafka_err2str(rd_kafka_last_error()));
        rd_kafka_poll(rk, 1);
        break;
      }
      sent++;
    }
    rd_kafka_poll(rk, 0);
    double slack = st.start + (double)sent / st.rate - now_s();
    sleep_s(slack > 0.001 ? 0.001 : slack);
  }
  double left = deadline - now_s();
  if (left < 1.0) left = 1.0;
  rd_kafka_flush(rk, (int)(left * 1000));
  long remaining = rd_kafka_outq_len(rk);
  double end = now_s();
  getrusage(RUSAGE_SELF, &ru1);
  double seconds = end - st.start;
  double cpu = (double)(ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec) + (double)(ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec) / 1e6 +
               (double)(ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) + (double)(ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec) / 1e6;
  qsort(st.latencies, (size_t)st.acked, sizeof(double), cmp_double);
  if (st.txns > 0) qsort(st.txn_durations, (size_t)st.txns, sizeof(double), cmp_double);
  if (st.by_index != NULL) {
    /* The worst latency of the messages due in each 100 ms of the schedule. */
    FILE *f = fopen(timeline, "w");
    if (f == NULL) usage("cannot write the --timeline file");
    long per_window = (long)(st.rate / 10);
    if (per_window < 1) per_window = 1;
    for (long w = 0; w * per_window < count; w++) {
      double worst = -1;
      for (long i = w * per_window; i < (w + 1) * per_window && i < count; i++)
        if (st.by_index[i] > worst) worst = st.by_index[i];
      if (w * per_window >= sent) break; /* stopped early: nothing was due after this */
      fprintf(f, "%ld %.3f\n", w * 100, worst * 1000.0);
    }
    fclose(f);
  }

  printf("{\"startMonotonicS\": %.6f, ", st.start);
  printf("\"msgs\": %ld, \"sent\": %ld, \"errors\": %ld, \"undelivered\": %ld, \"seconds\": %.6f, ", st.acked, sent, st.errors, remaining, seconds);
  if (seconds > 0) printf("\"msgPerSec\": %.3f, ", (double)st.acked / seconds);
  else printf("\"msgPerSec\": null, ");
  print_percentile("p50Ms", st.latencies, st.acked, 500000);
  print_percentile("p99Ms", st.latencies, st.acked, 990000);
  print_percentile("p999Ms", st.latencies, st.acked, 999000);
  if (st.acked > 0) printf("\"maxMs\": %.6f, ", st.latencies[st.acked - 1] * 1000.0);
  else printf("\"maxMs\": null, ");
  printf("\"transactions\": %ld, ", st.txns);
  print_percentile("txnP50Ms", st.txn_durations, st.txns, 500000);
  print_percentile("txnP99Ms", st.txn_durations, st.txns, 990000);
  if (st.txns > 0) printf("\"txnMaxMs\": %.6f, ", st.txn_durations[st.txns - 1] * 1000.0);
  else printf("\"txnMaxMs\": null, ");
  printf("\"cpuSeconds\": %.6f, \"saturated\": %s, \"error\": ", cpu, saturated ? "true" : "false");
  if (st.first_error[0] != '\0') json_string(st.first_error);
  else printf("null");
  printf(", \"librdkafka\": ");
  json_string(rd_kafka_version_str());
  printf("}\n");
  fflush(stdout);

  rd_kafka_topic_destroy(rkt);
  rd_kafka_destroy(rk);
  return st.errors == 0 && !saturated && st.acked == count ? 0 : 1;
}
