package main

import (
	"slices"
	"strings"
	"testing"
)

func TestParseThreads(t *testing.T) {
	for _, tc := range []struct {
		in    string
		nproc int
		want  []int
		ok    bool
	}{
		{"", 2, []int{1, 2}, true},
		{"  ", 4, []int{1, 2, 3, 4}, true},
		{"1,2", 8, []int{1, 2}, true},
		{"1-3,8", 8, []int{1, 2, 3, 8}, true},
		{"0", 2, nil, false},
		{"3-1", 2, nil, false},
		{"two", 2, nil, false},
	} {
		got, err := parseThreads("threads", tc.in, tc.nproc)
		if (err == nil) != tc.ok || !slices.Equal(got, tc.want) {
			t.Errorf("parseThreads(%q, %d) = %v, %v; want %v (ok %v)", tc.in, tc.nproc, got, err, tc.want, tc.ok)
		}
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{{"-steps", "0"}, {"-rounds", "0"}, {"-batch", "0"}, {"-threads", "x"}, {"-blas-threads", "0"}, {"-peer-env", "NOEQUALS"}} {
		if err := run(args); err == nil {
			t.Errorf("run(%v) = nil, want an error", args)
		}
	}
}

func TestPeerConfigs(t *testing.T) {
	for _, tc := range []struct {
		spec string
		want []peerConfig
	}{
		{"", []peerConfig{{1, 1}, {1, 2}, {2, 2}}}, // includes 1 torch thread × nproc BLAS threads
		{"inherit", []peerConfig{{1, 0}, {2, 0}}},
		{"1", []peerConfig{{1, 1}, {2, 1}}},
	} {
		got, err := peerConfigs([]int{1, 2}, tc.spec, 2)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("peerConfigs(1..2, %q) = %v, %v; want %v", tc.spec, got, err, tc.want)
		}
	}
	if _, err := peerConfigs([]int{1}, "x", 2); err == nil || !strings.Contains(err.Error(), "-blas-threads") {
		t.Errorf("peerConfigs(bad) error = %v, want one naming -blas-threads", err)
	}
}
