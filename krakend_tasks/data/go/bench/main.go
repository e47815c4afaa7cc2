// Command bench is krakend-tasks' load driver: a loopback backend for KrakenD and a constant-rate
// load generator (vegeta's library: an open model, so queueing shows in the latencies).
//
//	bench backend       serve every request with a small JSON answer on 127.0.0.1 (its port on stdout)
//	bench attack JOB    one attack described by the file JOB (JSON); every result on stdout (JSON)
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

const maxInFlight = 128 // requests (and connections) in flight at most

type job struct {
	Targets    []vegeta.Target `json:"targets"`
	Rate       int             `json:"rate"` // requests per second; 0: as fast as Workers allow (the probe)
	DurationMs int             `json:"duration_ms"`
	TimeoutMs  int             `json:"timeout_ms"`
	Workers    uint64          `json:"workers"`
}

type outcome struct {
	Rate      int            `json:"rate"`
	Sent      int            `json:"sent"`
	WallNs    int64          `json:"wall_ns"`
	Latencies []int64        `json:"latencies_ns"` // one per request, in the order sent
	Lateness  []int64        `json:"lateness_ns"`  // how late each request left against its schedule
	Codes     map[string]int `json:"codes"`        // status -> count ("0": no answer)
	Errors    map[string]int `json:"errors"`       // what went wrong without a status
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: bench backend | bench attack JOB")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "backend":
		backend()
	case "attack":
		attack()
	default:
		fmt.Fprintf(os.Stderr, "unknown mode %q\n", os.Args[1])
		os.Exit(2)
	}
}

func backend() {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(listener.Addr().(*net.TCPAddr).Port)
	answer := func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		body := `{"backend":"krakend-tasks bench","method":` + strconv.Quote(r.Method) + `,"path":` +
			strconv.Quote(r.URL.Path) + "}"
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		io.WriteString(w, body)
	}
	server := &http.Server{Handler: http.HandlerFunc(answer), ReadHeaderTimeout: 10 * time.Second}
	server.Serve(listener)
}

func attack() {
	var j job
	data, err := os.ReadFile(os.Args[len(os.Args)-1])
	if err == nil {
		err = json.Unmarshal(data, &j)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bad job:", err)
		os.Exit(2)
	}
	for _, t := range j.Targets { // loopback only, whatever the job says
		u, err := url.Parse(t.URL)
		if err != nil || u.Hostname() != "127.0.0.1" {
			fmt.Fprintf(os.Stderr, "refused target %q: only 127.0.0.1 is attacked\n", t.URL)
			os.Exit(2)
		}
	}
	workers := j.Workers
	if workers == 0 {
		workers = 8
	}
	// bounded workers and connections: a rate this machine cannot hold makes requests late (and the
	// round is thrown out), never thousands of connections that exhaust the machine's ports
	maxWorkers := uint64(maxInFlight)
	if j.Rate == 0 { // the probe: as fast as a fixed number of workers go
		maxWorkers = workers
	}
	options := []func(*vegeta.Attacker){vegeta.Timeout(time.Duration(j.TimeoutMs) * time.Millisecond),
		vegeta.Workers(workers), vegeta.MaxWorkers(maxWorkers), vegeta.MaxConnections(maxInFlight),
		vegeta.KeepAlive(true), vegeta.Redirects(vegeta.NoFollow), vegeta.MaxBody(0)}
	var pacer vegeta.Pacer = vegeta.ConstantPacer{Freq: j.Rate, Per: time.Second}
	if j.Rate == 0 {
		pacer = vegeta.ConstantPacer{Freq: 0}
	}
	attacker := vegeta.NewAttacker(options...)
	out := outcome{Rate: j.Rate, Codes: map[string]int{}, Errors: map[string]int{}}
	began := time.Now()
	period := int64(0)
	if j.Rate > 0 {
		period = int64(time.Second) / int64(j.Rate)
	}
	for r := range attacker.Attack(vegeta.NewStaticTargeter(j.Targets...), pacer,
		time.Duration(j.DurationMs)*time.Millisecond, "krakend-tasks") {
		out.Sent++
		out.Latencies = append(out.Latencies, int64(r.Latency))
		late := int64(0)
		if period > 0 {
			late = r.Timestamp.Sub(began).Nanoseconds() - int64(r.Seq+1)*period // hit n leaves at (n+1) periods
		}
		out.Lateness = append(out.Lateness, late)
		out.Codes[strconv.Itoa(int(r.Code))]++
		if r.Code == 0 && r.Error != "" {
			out.Errors[r.Error]++
		}
	}
	out.WallNs = time.Since(began).Nanoseconds()
	w := bufio.NewWriter(os.Stdout)
	json.NewEncoder(w).Encode(out)
	w.Flush()
}
