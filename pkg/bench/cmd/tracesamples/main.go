// Command tracesamples prints the CPU samples of a Go execution trace, one per line, with how
// many goroutines were running when each was taken: "nanoseconds<TAB>running<TAB>stack", the
// stack's frames leaf first, separated by ";". `opshares.py --wall` reads it and says which op
// kinds ran alone (one goroutine running: the other cores idle) and each kind's share of the
// wall clock, where a CPU profile only gives shares of CPU time. A trace holds CPU samples when
// the CPU profile is taken in the same run:
//
//	go test -c -o /tmp/b.test ./pkg/bench
//	(cd pkg/bench && /tmp/b.test -test.run '^$' -test.bench 'LoRATrainStep/small' -test.benchtime 12x \
//	    -test.cpuprofile /tmp/cpu.prof -test.trace /tmp/trace.out)
//	go run ./pkg/bench/cmd/tracesamples /tmp/trace.out | python3 pkg/bench/opshares.py --wall
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/exp/trace"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: tracesamples TRACE_FILE")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "tracesamples:", err)
		os.Exit(1)
	}
}

func run(path string, w io.Writer) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r, err := trace.NewReader(bufio.NewReader(f))
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	out := bufio.NewWriter(w)
	running := map[trace.GoID]bool{}
	var t0 trace.Time
	for {
		ev, err := r.ReadEvent()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if t0 == 0 {
			t0 = ev.Time()
		}
		switch ev.Kind() {
		case trace.EventStateTransition:
			st := ev.StateTransition()
			if st.Resource.Kind != trace.ResourceGoroutine {
				continue
			}
			if _, to := st.Goroutine(); to == trace.GoRunning {
				running[st.Resource.Goroutine()] = true
			} else {
				delete(running, st.Resource.Goroutine())
			}
		case trace.EventStackSample:
			var frames []string
			for fr := range ev.Stack().Frames() {
				frames = append(frames, fr.Func)
			}
			fmt.Fprintf(out, "%d\t%d\t%s\n", int64(ev.Time()-t0), len(running), strings.Join(frames, ";"))
		}
	}
	return out.Flush()
}
