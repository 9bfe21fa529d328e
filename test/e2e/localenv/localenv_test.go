package localenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/bindery-dev/bindery/test/servers"
)

func TestRunTwiceThenStop(t *testing.T) {
	root, err := servers.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	kubectl, err := servers.ToolPath("kubectl")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "localenv")
	run(t, root, "go", "build", "-o", bin, "./hack/localenv")

	state := filepath.Join(t.TempDir(), "state")
	ports, err := servers.FreePorts(3)
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"--state", state, "--kcp-port", strconv.Itoa(ports[0]),
		"--etcd-client-port", strconv.Itoa(ports[1]), "--etcd-peer-port", strconv.Itoa(ports[2])}
	t.Cleanup(func() { _ = exec.Command(bin, append([]string{"stop"}, args...)...).Run() })

	out := run(t, root, bin, append([]string{"start"}, args...)...)
	mustContain(t, out, "bindery local environment is ready", "kubectl --kubeconfig "+state+"/kcp.kubeconfig get workspaces")

	// What the summary tells the user to run works.
	run(t, root, kubectl, "--kubeconfig", filepath.Join(state, "kcp.kubeconfig"), "get", "workspaces")
	out = run(t, root, kubectl, "--kubeconfig", filepath.Join(state, "provider.kubeconfig"), "get", "namespaces")
	mustContain(t, out, "kube-system")

	out = run(t, root, bin, append([]string{"start"}, args...)...)
	mustContain(t, out, "already running")

	pid, err := strconv.Atoi(strings.TrimSpace(string(mustRead(t, filepath.Join(state, "localenv.pid")))))
	if err != nil {
		t.Fatal(err)
	}
	started := sessionMembers(t, pid)
	if len(started) < 4 { // localenv serve, kcp, etcd, kube-apiserver
		t.Fatalf("expected serve, kcp, etcd and kube-apiserver in session %d, found pids %v", pid, started)
	}

	out = run(t, root, bin, append([]string{"stop"}, args...)...)
	mustContain(t, out, "stopped")
	for _, p := range started {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", p)); err == nil && inSession(p, pid) {
			t.Errorf("process %d of the environment is still running after stop", p)
		}
	}
	out = run(t, root, bin, append([]string{"stop"}, args...)...)
	mustContain(t, out, "not running")
}

func run(t *testing.T, dir, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func mustContain(t *testing.T, out string, wants ...string) {
	t.Helper()
	for _, want := range wants {
		if !strings.Contains(out, want) {
			t.Fatalf("output lacks %q:\n%s", want, out)
		}
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// sessionMembers lists the processes whose session id is sid (localenv serve starts a session).
func sessionMembers(t *testing.T, sid int) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err == nil && inSession(pid, sid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// inSession reads the session id from /proc/<pid>/stat (field 6, after the parenthesised command).
func inSession(pid, sid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(data)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return len(fields) > 3 && fields[3] == strconv.Itoa(sid)
}
