#!/usr/bin/env python3
"""Share of a CPU profile per Go-backend op kind (issue 15's profile tables in NOTES.md).

Reads `go tool pprof -traces BINARY PROFILE` on stdin. Each sample is counted once, under the
op whose executor function (the frame called by gobackend's executeNode) it ran in; samples of
the matmul worker goroutines (dot/matmul, run outside executeNode) count as "matmul (workers)",
the rest as "other: …" (garbage collector, set-up). Prints the shares, largest first.

    go test -c -o /tmp/b.test ./pkg/bench
    (cd pkg/bench && /tmp/b.test -test.run '^$' -test.bench 'LoRATrainStep/small' -test.benchtime 6x -test.cpuprofile /tmp/cpu.prof)
    go tool pprof -traces /tmp/b.test /tmp/cpu.prof | python3 pkg/bench/opshares.py

With --wall it reads instead the output of `go run ./pkg/bench/cmd/tracesamples TRACE` (the CPU
samples of a Go execution trace, each with the number of goroutines running at that moment) and
prints per op kind its share of CPU samples, its share of the wall clock (a sample taken while
n goroutines ran counts 1/n) and how often it ran alone (one goroutine running, the other cores
idle) — what told that the step's matmuls ran on one core (pkg/bench/NOTES.md, third pass).
"""
import collections
import re
import sys


def seconds(s):
    m = re.match(r'\s*([\d.]+)(ms|s|us)', s)
    return float(m.group(1)) * {'s': 1, 'ms': 1e-3, 'us': 1e-6}[m.group(2)]


def kind(frames):
    for i, f in enumerate(frames):
        if f.startswith('github.com/gomlx/compute/internal/gobackend.(*FunctionExecutable).executeNode'):
            callee = frames[i - 1] if i > 0 else f
            return re.sub(r'\[.*?\]', '', callee.split('/')[-1]).replace(' (inline)', '')
    if any('dot/matmul' in f for f in frames):
        return 'matmul (workers)'
    if any('gcBgMarkWorker' in f or 'gcDrain' in f for f in frames):
        return 'other: gc'
    return 'other: ' + frames[-1].split('/')[-1]


def wall(lines, top):
    cpu, alone, wallclock = collections.Counter(), collections.Counter(), collections.Counter()
    for line in lines:
        _, running, stack = line.rstrip('\n').split('\t')
        k, n = kind(stack.split(';')), max(int(running), 1)
        cpu[k] += 1
        wallclock[k] += 1 / n
        alone[k] += n == 1
    total, total_wall = sum(cpu.values()), sum(wallclock.values())
    print(f"{total} samples, {100 * sum(alone.values()) / total:.0f}% taken with one goroutine running")
    print(f"{'op kind':50s} {'CPU %':>6s} {'wall %':>7s} {'alone %':>8s}")
    for k, v in wallclock.most_common(top):
        print(f"{k[:50]:50s} {100 * cpu[k] / total:6.1f} {100 * v / total_wall:7.1f} {100 * alone[k] / cpu[k]:8.0f}")


def main():
    args = [a for a in sys.argv[1:] if a != '--wall']
    top = int(args[0]) if args else 30
    if '--wall' in sys.argv[1:]:
        wall(sys.stdin, top)
        return
    blocks = sys.stdin.read().split('-----------+-------------------------------------------------------')[1:]
    total, shares = 0.0, collections.Counter()
    for b in blocks:
        lines = [l for l in b.strip('\n').split('\n') if l.strip()]
        if not lines:
            continue
        v = seconds(lines[0])
        frames = [lines[0].split(None, 1)[1].strip()] + [l.strip() for l in lines[1:]]
        total += v
        shares[kind(frames)] += v
    print(f"total {total:.2f} s of samples")
    for k, v in shares.most_common(top):
        print(f"{100 * v / total:6.2f} %  {v:7.2f} s  {k}")


if __name__ == '__main__':
    main()
