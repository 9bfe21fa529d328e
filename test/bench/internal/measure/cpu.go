package measure

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/rest"

	"github.com/bindery-dev/bindery/test/servers"
)

// Processes are the pids whose CPU time a benchmark measures, by role.
type Processes map[string]int

// CPUTimes reads every process's CPU time so far.
func (ps Processes) CPUTimes(t testing.TB) map[string]time.Duration {
	times := make(map[string]time.Duration, len(ps))
	for role, pid := range ps {
		d, err := servers.CPUTime(pid)
		if err != nil {
			t.Fatalf("CPU time of %s (pid %d): %v", role, pid, err)
		}
		times[role] = d
	}
	return times
}

// IdleRates is each process's CPU time per second (in ms) over window while nothing is created,
// so that a phase's CPU can be counted net of it: a slow phase would otherwise charge its objects
// with the servers' background work.
func (ps Processes) IdleRates(t testing.TB, window time.Duration) map[string]float64 {
	before := ps.CPUTimes(t)
	time.Sleep(window) // measuring an idle rate: nothing to wait for
	after := ps.CPUTimes(t)
	rates := make(map[string]float64, len(after))
	for role := range after {
		rates[role] = float64((after[role] - before[role]).Microseconds()) / 1000 / window.Seconds()
	}
	return rates
}

// NetOfIdle is the CPU each process used between two readings over elapsed, less its idle rate
// (ms per second) for that long, and never below 0.
func NetOfIdle(before, after map[string]time.Duration, idle map[string]float64, elapsed time.Duration) map[string]time.Duration {
	net := make(map[string]time.Duration, len(after))
	for role, used := range after {
		used -= before[role]
		net[role] = max(used-time.Duration(idle[role]*elapsed.Seconds())*time.Millisecond, 0)
	}
	return net
}

// ServerProcesses finds the kube-apiserver serving cfg and the etcd behind it among this
// process's children (envtest starts both), from their command lines, and adds them to into as
// "<cluster> kube-apiserver" and "<cluster> etcd".
func ServerProcesses(t testing.TB, cluster string, cfg *rest.Config, into Processes) {
	t.Helper()
	host, err := url.Parse(cfg.Host)
	if err != nil {
		t.Fatal(err)
	}
	args := commandLines(t)
	apiserver, etcdURL := 0, ""
	for pid, argv := range args {
		if filepath.Base(argv[0]) == "kube-apiserver" && slices.Contains(argv, "--secure-port="+host.Port()) {
			apiserver = pid
			for _, a := range argv {
				if v, ok := strings.CutPrefix(a, "--etcd-servers="); ok {
					etcdURL = v
				}
			}
		}
	}
	if apiserver == 0 || etcdURL == "" {
		t.Fatalf("no kube-apiserver with --secure-port=%s and --etcd-servers among the processes", host.Port())
	}
	for pid, argv := range args {
		if filepath.Base(argv[0]) == "etcd" && slices.Contains(argv, "--listen-client-urls="+etcdURL) {
			into[cluster+" kube-apiserver"], into[cluster+" etcd"] = apiserver, pid
			return
		}
	}
	t.Fatalf("no etcd with --listen-client-urls=%s among the processes", etcdURL)
}

// commandLines returns the argv of every child of this process (from each thread's list of
// children: Go starts processes from any of its threads).
func commandLines(t testing.TB) map[int][]string {
	lists, err := filepath.Glob("/proc/self/task/*/children")
	if err != nil {
		t.Fatal(err)
	}
	out := map[int][]string{}
	for _, list := range lists {
		data, err := os.ReadFile(list)
		if err != nil {
			continue // the thread ended
		}
		for _, field := range strings.Fields(string(data)) {
			pid, err := strconv.Atoi(field)
			if err != nil {
				continue
			}
			cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
			if err != nil || len(cmdline) == 0 {
				continue
			}
			out[pid] = strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
		}
	}
	if len(out) == 0 {
		t.Fatal("no child processes in /proc/self/task/*/children (a kernel without CONFIG_PROC_CHILDREN?)")
	}
	return out
}
