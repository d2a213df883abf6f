// jsbench: the JetStream side of Chronik's benchmark (tools/bench). It creates file-backed streams,
// publishes fixed-size messages with JetStream async publishes, consumes a stream from its start,
// and prints one JSON line with the result. Built by tools/bench in GOPATH mode against Debian's
// golang-github-nats-io-go-nats-dev:
//
//	GO111MODULE=off GOPATH=<tmp>:/usr/share/gocode go build -o jsbench main.go
//
// Modes (-mode):
//
//	setup  delete and (re)create -streams streams "<prefix>_<i>" on subjects "<prefix>.<i>" with
//	       -replicas replicas, file storage; retried until the cluster accepts or -timeout passes.
//	pub    publish -count messages of -size bytes round-robin over the streams' subjects. With
//	       -rate 0 as fast as the async window (-max-pending) allows, latency = publish call to
//	       PubAck; with -rate R (msg/s) an open-loop schedule in ticks of -tick-ms, latency measured
//	       from each message's intended send time (no coordinated omission).
//	sub    read -count messages from the start of the streams with pull consumers (AckNone) and
//	       report the rate.
//	delete delete the streams.
//
// Percentiles are nearest-rank over every message's latency, the same definition tools/bench uses.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
)

type result struct {
	Ok        bool    `json:"ok"`
	Error     string  `json:"error,omitempty"`
	Mode      string  `json:"mode"`
	Msgs      int64   `json:"msgs"`
	Bytes     int64   `json:"bytes"`
	Seconds   float64 `json:"seconds"`
	MsgPerSec float64 `json:"msgPerSec"`
	MBPerSec  float64 `json:"mbPerSec"`
	P50Ms     float64 `json:"p50Ms"`
	P99Ms     float64 `json:"p99Ms"`
	P999Ms    float64 `json:"p999Ms"`
	MaxMs     float64 `json:"maxMs"`
	Errors    int64   `json:"errors"`
	Saturated bool    `json:"saturated"`
}

var (
	servers    = flag.String("servers", "nats://127.0.0.1:4222", "comma-separated server URLs")
	mode       = flag.String("mode", "pub", "setup | pub | sub | delete")
	prefix     = flag.String("prefix", "bench", "stream name prefix")
	streams    = flag.Int("streams", 1, "number of streams (the counterpart of Kafka partitions)")
	replicas   = flag.Int("replicas", 1, "stream replicas (1 or 3)")
	size       = flag.Int("size", 1024, "message payload bytes")
	count      = flag.Int("count", 100000, "messages")
	rate       = flag.Float64("rate", 0, "messages per second (0 = as fast as possible)")
	tickMs     = flag.Int("tick-ms", 1, "scheduling tick of the fixed-rate mode")
	maxPending = flag.Int("max-pending", 4096, "outstanding async publishes")
	timeoutS   = flag.Float64("timeout", 120, "give up after this many seconds")
)

func emit(r result) {
	b, _ := json.Marshal(r)
	fmt.Println(string(b))
}

func fail(err error) {
	emit(result{Ok: false, Error: err.Error(), Mode: *mode})
	os.Exit(1)
}

func streamName(i int) string { return fmt.Sprintf("%s_%d", *prefix, i) }
func subject(i int) string    { return fmt.Sprintf("%s.%d", *prefix, i) }

// percentile is the nearest-rank percentile of sorted values (q in 0..1).
// drainWait is how long a publish run waits for its outstanding acknowledgements: until the run's
// deadline (plus 5 s), but no more than 5 s once it has already fallen behind schedule.
func drainWait(saturated bool, deadline time.Time) time.Duration {
	if saturated {
		return 5 * time.Second
	}
	return time.Until(deadline) + 5*time.Second
}

func percentile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(q * float64(len(sorted))))
	if rank < 1 {
		rank = 1
	}
	if rank > len(sorted) {
		rank = len(sorted)
	}
	return sorted[rank-1]
}

func connect() (*nats.Conn, nats.JetStreamContext) {
	deadline := time.Now().Add(time.Duration(*timeoutS * float64(time.Second)))
	var lastErr error
	for time.Now().Before(deadline) {
		nc, err := nats.Connect(*servers, nats.Timeout(5*time.Second), nats.MaxReconnects(10))
		if err == nil {
			js, err := nc.JetStream(nats.PublishAsyncMaxPending(*maxPending))
			if err == nil {
				return nc, js
			}
			nc.Close()
		}
		lastErr = err
		time.Sleep(200 * time.Millisecond)
	}
	fail(fmt.Errorf("connect: %v", lastErr))
	return nil, nil
}

func setup(js nats.JetStreamContext) {
	deadline := time.Now().Add(time.Duration(*timeoutS * float64(time.Second)))
	for i := 0; i < *streams; i++ {
		for {
			_ = js.DeleteStream(streamName(i))
			_, err := js.AddStream(&nats.StreamConfig{
				Name:      streamName(i),
				Subjects:  []string{subject(i)},
				Storage:   nats.FileStorage,
				Replicas:  *replicas,
				Retention: nats.LimitsPolicy,
				Discard:   nats.DiscardOld,
			})
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				fail(fmt.Errorf("create stream %s (replicas %d): %v", streamName(i), *replicas, err))
			}
			time.Sleep(250 * time.Millisecond)
		}
	}
	emit(result{Ok: true, Mode: "setup"})
}

func deleteStreams(js nats.JetStreamContext) {
	for i := 0; i < *streams; i++ {
		_ = js.DeleteStream(streamName(i))
	}
	emit(result{Ok: true, Mode: "delete"})
}

func publish(js nats.JetStreamContext) {
	n := *count
	payload := make([]byte, *size)
	for i := range payload {
		payload[i] = byte('a' + i%26)
	}
	subjects := make([]string, *streams)
	for i := range subjects {
		subjects[i] = subject(i)
	}
	latNs := make([]int64, n) // one slot per message: no lock needed
	var errCount int64
	deadline := time.Now().Add(time.Duration(*timeoutS * float64(time.Second)))
	saturated := false

	// One ack collector per stream (not a goroutine per message, which costs the client more CPU
	// than the publishing itself): a stream acknowledges its publishes in order, so a collector
	// waiting on its stream's futures in publish order records each ack when it arrives.
	type pendingAck struct {
		i    int
		from time.Time
		f    nats.PubAckFuture
	}
	var collectors sync.WaitGroup
	queues := make([]chan pendingAck, len(subjects))
	for s := range queues {
		queues[s] = make(chan pendingAck, 1<<16)
		collectors.Add(1)
		go func(q chan pendingAck) {
			defer collectors.Done()
			for p := range q {
				select {
				case <-p.f.Ok():
					latNs[p.i] = time.Since(p.from).Nanoseconds()
				case <-p.f.Err():
					atomic.AddInt64(&errCount, 1)
					latNs[p.i] = -1
				}
			}
		}(queues[s])
	}

	// send publishes message i, retrying while the client's window of pending acks is full, until
	// giveUp; false when it was not sent.
	send := func(i int, from time.Time, giveUp time.Time) bool {
		for {
			f, err := js.PublishAsync(subjects[i%len(subjects)], payload)
			if err == nil {
				queues[i%len(queues)] <- pendingAck{i, from, f}
				return true
			}
			if !strings.Contains(err.Error(), "stalled") || time.Now().After(giveUp) {
				atomic.AddInt64(&errCount, 1)
				latNs[i] = -1
				return false
			}
		}
	}

	start := time.Now()
	sent := 0
	if *rate <= 0 {
		for ; sent < n; sent++ {
			if !send(sent, time.Now(), deadline) && time.Now().After(deadline) {
				break
			}
		}
	} else {
		tick := time.Duration(*tickMs) * time.Millisecond
		nsPerMsg := float64(time.Second) / *rate
		const maxLag = 2 * time.Second
	schedule:
		for sent < n {
			elapsed := time.Since(start)
			due := int(math.Min(float64(n), math.Floor(float64(elapsed)/nsPerMsg)+1))
			// A backlog of more than 2 s behind schedule means the offered load is above capacity.
			if float64(due-sent)*nsPerMsg > float64(maxLag) || time.Now().After(deadline) {
				saturated = true
				break
			}
			for ; sent < due; sent++ {
				intended := start.Add(time.Duration(float64(sent) * nsPerMsg))
				// Checked per message too: a server that stalls the publishes would otherwise keep
				// this loop going until the whole run's timeout.
				if time.Since(intended) > maxLag || time.Now().After(deadline) {
					saturated = true
					break schedule
				}
				send(sent, intended, intended.Add(maxLag))
			}
			time.Sleep(tick)
		}
	}
	for _, q := range queues {
		close(q)
	}
	waitDone := make(chan struct{})
	go func() { collectors.Wait(); close(waitDone) }()
	select {
	case <-waitDone:
	case <-time.After(drainWait(saturated, deadline)):
		saturated = true
	}
	secs := time.Since(start).Seconds()
	lat := make([]float64, 0, sent)
	var ok int64
	for i := 0; i < sent; i++ {
		if latNs[i] > 0 {
			lat = append(lat, float64(latNs[i])/1e6)
			ok++
		}
	}
	sort.Float64s(lat)
	r := result{Ok: errCount == 0 && !saturated, Mode: "pub", Msgs: ok, Bytes: ok * int64(*size), Seconds: secs,
		MsgPerSec: float64(ok) / secs, MBPerSec: float64(ok) * float64(*size) / secs / 1e6,
		P50Ms: percentile(lat, 0.5), P99Ms: percentile(lat, 0.99), P999Ms: percentile(lat, 0.999),
		Errors: errCount, Saturated: saturated}
	if len(lat) > 0 {
		r.MaxMs = lat[len(lat)-1]
	}
	if errCount > 0 {
		r.Error = fmt.Sprintf("%d publishes failed", errCount)
	}
	if saturated {
		r.Error = strings.TrimSpace(r.Error + " offered load above capacity (fell more than 2 s behind)")
	}
	emit(r)
}

func consume(js nats.JetStreamContext) {
	per := make([]int, *streams)
	for i := 0; i < n(); i++ {
		per[i%*streams]++
	}
	var total, bytes int64
	var wg sync.WaitGroup
	errs := make(chan error, *streams)
	deadline := time.Now().Add(time.Duration(*timeoutS * float64(time.Second)))
	start := time.Now()
	for s := 0; s < *streams; s++ {
		wg.Add(1)
		go func(s int) {
			defer wg.Done()
			sub, err := js.PullSubscribe(subject(s), fmt.Sprintf("bench-consumer-%d", s), nats.BindStream(streamName(s)), nats.AckNone(), nats.DeliverAll())
			if err != nil {
				errs <- err
				return
			}
			defer func() { _ = sub.Unsubscribe() }()
			got := 0
			for got < per[s] {
				if time.Now().After(deadline) {
					errs <- fmt.Errorf("stream %s: timed out after %d of %d messages", streamName(s), got, per[s])
					return
				}
				want := per[s] - got
				if want > 1000 {
					want = 1000
				}
				msgs, err := sub.Fetch(want, nats.MaxWait(2*time.Second))
				if err != nil && !errors.Is(err, nats.ErrTimeout) {
					errs <- err
					return
				}
				for _, m := range msgs {
					atomic.AddInt64(&bytes, int64(len(m.Data)))
				}
				got += len(msgs)
				atomic.AddInt64(&total, int64(len(msgs)))
			}
		}(s)
	}
	wg.Wait()
	secs := time.Since(start).Seconds()
	close(errs)
	r := result{Ok: true, Mode: "sub", Msgs: total, Bytes: bytes, Seconds: secs, MsgPerSec: float64(total) / secs, MBPerSec: float64(bytes) / secs / 1e6}
	for err := range errs {
		r.Ok = false
		r.Error = err.Error()
	}
	emit(r)
}

func n() int { return *count }

func main() {
	flag.Parse()
	if *streams < 1 || *size < 1 || *count < 1 || *maxPending < 1 || *tickMs < 1 {
		fail(errors.New("streams, size, count, max-pending and tick-ms must be positive"))
	}
	nc, js := connect()
	defer nc.Close()
	switch *mode {
	case "setup":
		setup(js)
	case "pub":
		publish(js)
	case "sub":
		consume(js)
	case "delete":
		deleteStreams(js)
	default:
		fail(fmt.Errorf("unknown mode %q", *mode))
	}
}
