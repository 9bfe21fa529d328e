package quickstart

import (
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bindery-dev/bindery/test/servers"
)

// expectation is what the output of a command of the page must (and must not) contain. The n-th
// occurrence of the same command text on the page is keyed with "#n" (from 2).
type expectation struct {
	contains []string
	lacks    []string
	// minLength is the least number of non-space characters the output has (e.g. a password).
	minLength int
	// browser, when set, is what the reader does in the browser the command opens.
	browser *signIn
}

var expectations = map[string]expectation{
	// A newcomer sees only bindery's own progress lines: no library's warnings or stack traces.
	"make run": {contains: []string{"bindery local environment is ready", ".bindery/team-a.kubeconfig"},
		lacks: []string{"log.SetLogger", "goroutine "}},
	"export PATH=$PWD/bin:$PWD/bin/tools:$PATH": {},
	"kubectl bindery catalog --kubeconfig .bindery/kcp.kubeconfig": {
		contains: []string{"databases", "root:provider", "databases.db.example.com"}},
	"kubectl --kubeconfig .bindery/team-a.kubeconfig get apibindings": {contains: []string{"databases"}},
	"kubectl --kubeconfig .bindery/team-a.kubeconfig api-resources --api-group db.example.com": {
		contains: []string{"databases", "Database"}},
	"kubectl --kubeconfig .bindery/team-a.kubeconfig apply -f examples/quickstart/database.yaml": {
		contains: []string{"database.db.example.com/orders created"}},
	"kubectl --kubeconfig .bindery/team-a.kubeconfig wait database/orders --for=condition=Ready --timeout=2m": {
		contains: []string{"condition met"}},
	"kubectl --kubeconfig .bindery/team-a.kubeconfig get database orders": {contains: []string{"orders"}},
	`kubectl --kubeconfig .bindery/team-a.kubeconfig get database orders -o jsonpath='{.status.endpoint}{"\n"}'`: {
		contains: []string{".db.provider.example:5432"}},
	"kubectl --kubeconfig .bindery/team-a.kubeconfig get events --field-selector involvedObject.name=orders": {
		contains: []string{"Synced"}},
	"kubectl --kubeconfig .bindery/team-a.kubeconfig wait secret/orders-credentials --for=create --timeout=1m": {
		contains: []string{"condition met"}},
	"kubectl --kubeconfig .bindery/team-a.kubeconfig get secret orders-credentials -o jsonpath='{.data.password}' | base64 -d; echo": {
		minLength: 16},
	"kubectl --kubeconfig .bindery/provider.kubeconfig get databases.db.provider.example -A": {
		contains: []string{"orders"}},
	"kubectl bindery inventory --kubeconfig .bindery/provider-workspace.kubeconfig": {
		contains: []string{"root:team-a", "root:team-b"}},
	"kubectl --kubeconfig .bindery/team-b.kubeconfig get databases": {
		contains: []string{"No resources found"}, lacks: []string{"orders"}},
	"kubectl --kubeconfig .bindery/team-a.kubeconfig delete database orders": {
		contains: []string{`database.db.example.com "orders" deleted`}},
	"kubectl --kubeconfig .bindery/provider.kubeconfig get databases.db.provider.example -A#2": {
		contains: []string{"No resources found"}, lacks: []string{"orders"}},
	"kubectl --kubeconfig .bindery/team-a.kubeconfig get secrets": {lacks: []string{"orders-credentials"}},
	// Part 7: Kube -> Kube.
	"export BINDERY_BACKEND=$(cat .bindery/backend-url)": {},
	"kubectl bindery bind $BINDERY_BACKEND --kubeconfig .bindery/consumer.kubeconfig --konnector=skip": {
		browser: &signIn{user: "alice", pick: "databases"}, contains: []string{"ServiceBinding databases is Ready"}},
	"kubectl bindery bindings --kubeconfig .bindery/consumer.kubeconfig": {contains: []string{"databases", "True"}},
	"kubectl --kubeconfig .bindery/consumer.kubeconfig api-resources --api-group db.example.com": {
		contains: []string{"databases", "Database"}},
	"kubectl --kubeconfig .bindery/consumer.kubeconfig create namespace shop": {contains: []string{"namespace/shop created"}},
	"kubectl --kubeconfig .bindery/consumer.kubeconfig -n shop apply -f examples/quickstart/database.yaml": {
		contains: []string{"database.db.example.com/orders created"}},
	"kubectl --kubeconfig .bindery/consumer.kubeconfig -n shop wait database/orders --for=condition=Ready --timeout=2m": {
		contains: []string{"condition met"}},
	"export SECRET=$(kubectl --kubeconfig .bindery/consumer.kubeconfig -n shop get database orders -o jsonpath='{.status.credentialsSecretRef.name}')": {},
	"kubectl --kubeconfig .bindery/consumer.kubeconfig -n shop get secret $SECRET -o jsonpath='{.data.password}' | base64 -d; echo": {
		minLength: 16},
	"kubectl --kubeconfig .bindery/provider.kubeconfig get consumers": {contains: []string{"alice", "True"}},
	"kubectl --kubeconfig .bindery/provider.kubeconfig get databases.db.provider.example -A#3": {
		contains: []string{"bindery-oidc-alice-example-com-", "shop-orders"}},
	"kubectl --kubeconfig .bindery/consumer.kubeconfig -n shop delete database orders": {
		contains: []string{`database.db.example.com "orders" deleted`}},
	// Part 8: team-a's cluster -> root:team-a -> the provider.
	"export TEAM_A_BACKEND=$(cat .bindery/team-a-backend-url)": {},
	"kubectl bindery bind $TEAM_A_BACKEND --kubeconfig .bindery/team-a-cluster.kubeconfig --konnector=skip": {
		browser: &signIn{user: "alice", pick: "databases"}, contains: []string{"ServiceBinding databases is Ready"}},
	"kubectl --kubeconfig .bindery/team-a-cluster.kubeconfig create namespace analytics": {
		contains: []string{"namespace/analytics created"}},
	"kubectl --kubeconfig .bindery/team-a-cluster.kubeconfig -n analytics apply -f examples/quickstart/database.yaml": {
		contains: []string{"database.db.example.com/orders created"}},
	"kubectl --kubeconfig .bindery/team-a-cluster.kubeconfig -n analytics wait database/orders --for=condition=Ready --timeout=3m": {
		contains: []string{"condition met"}},
	"export TEAM_SECRET=$(kubectl --kubeconfig .bindery/team-a-cluster.kubeconfig -n analytics get database orders -o jsonpath='{.status.credentialsSecretRef.name}')": {},
	"kubectl --kubeconfig .bindery/team-a-cluster.kubeconfig -n analytics get secret $TEAM_SECRET -o jsonpath='{.data.password}' | base64 -d; echo": {
		minLength: 16},
	"kubectl --kubeconfig .bindery/team-a.kubeconfig get databases -A": {
		contains: []string{"bindery-consumer-", "analytics-orders", "Ready"}, lacks: []string{"alice"}},
	"kubectl --kubeconfig .bindery/team-a.kubeconfig get consumers": {contains: []string{"alice", "True"}},
	"kubectl --kubeconfig .bindery/team-a-cluster.kubeconfig -n analytics delete database orders": {
		contains: []string{`database.db.example.com "orders" deleted`}},
	"make stop": {contains: []string{"stopped"}},
}

// TestQuickstart runs every command of docs/quickstart.md in a copy of the repository, with the
// only difference that the environment's ports are free ones (KCP_PORT, the etcd ports and the
// backends' ports are read by the Makefile from the environment, so the commands are unchanged). The
// sign-in a command opens the browser for is done in a headless Chromium.
func TestQuickstart(t *testing.T) {
	root, err := servers.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	repo := copyRepository(t, root)
	browser := newBrowserEnv(t)
	env := append(portsEnv(t), browser.env...)
	t.Cleanup(func() { _, _ = shell(repo, env, "make stop") })

	commands, err := readCommands(filepath.Join(repo, "docs", "quickstart.md"))
	if err != nil {
		t.Fatal(err)
	}
	pending := maps.Clone(expectations)
	var exports []string // export lines carry over to later commands, as in the reader's shell
	seen := map[string]int{}
	for _, cmd := range commands {
		seen[cmd.text]++
		key := cmd.text
		if n := seen[cmd.text]; n > 1 {
			key = fmt.Sprintf("%s#%d", cmd.text, n)
		}
		want, ok := pending[key]
		if !ok {
			t.Fatalf("docs/quickstart.md (%s): no expectation for %q; add one to this test", cmd.section, key)
		}
		delete(pending, key)
		script := strings.Join(append(append([]string{}, exports...), cmd.text), "\n")
		t.Logf("$ %s", cmd.text)
		start := time.Now()
		var out string
		if want.browser != nil {
			out, err = runWithSignIn(t, repo, env, browser, script, *want.browser)
		} else {
			out, err = shell(repo, env, script)
		}
		if err != nil {
			t.Fatalf("docs/quickstart.md (%s): %q failed after %s: %v\n%s", cmd.section, cmd.text, time.Since(start).Round(time.Second), err, out)
		}
		checkOutput(t, cmd, out, want)
		if strings.HasPrefix(cmd.text, "export ") {
			exports = append(exports, cmd.text)
		}
	}
	for key := range pending {
		t.Errorf("the test expects the command %q, which docs/quickstart.md no longer has", key)
	}
	if t.Failed() {
		return
	}
	runAgainAfterStop(t, repo, env)
}

// runAgainAfterStop starts the environment again on the data of the first run, without any
// cleanup, checks that team-a's workspace is still bound, and that stop leaves no process behind.
func runAgainAfterStop(t *testing.T, repo string, env []string) {
	t.Log("$ make run (second time, no cleanup)")
	out, err := shell(repo, env, "make run")
	if err != nil {
		t.Fatalf("second make run: %v\n%s", err, out)
	}
	checkOutput(t, command{text: "make run"}, out, expectation{contains: []string{"bindery local environment is ready"}})
	out, err = shell(repo, env, "bin/tools/kubectl --kubeconfig .bindery/team-a.kubeconfig get apibinding databases")
	if err != nil || !strings.Contains(out, "databases") {
		t.Fatalf("team-a's binding after the restart: %v\n%s", err, out)
	}
	// The provider cluster is the same cluster after the restart (address, CA, ServiceAccount
	// keys): the credential alice's konnector got before still syncs a new Database.
	out, err = shell(repo, env, "bin/tools/kubectl --kubeconfig .bindery/consumer.kubeconfig -n shop apply -f examples/quickstart/database.yaml && "+
		"bin/tools/kubectl --kubeconfig .bindery/consumer.kubeconfig -n shop wait database/orders --for=condition=Ready --timeout=2m")
	if err != nil || !strings.Contains(out, "condition met") {
		t.Fatalf("a Database in alice's cluster after the restart: %v\n%s", err, out)
	}

	pid, err := strconv.Atoi(strings.TrimSpace(readFile(t, filepath.Join(repo, ".bindery", "localenv.pid"))))
	if err != nil {
		t.Fatal(err)
	}
	started := sessionMembers(t, pid)
	// localenv serve, kcp, etcd and kube-apiserver three times (provider, consumer, team-a's
	// cluster), the operator, the agent, the manager, two backends, two konnectors
	if len(started) < 15 {
		t.Fatalf("expected at least 15 processes in the environment's session %d, found %v", pid, started)
	}
	out, err = shell(repo, env, "make stop")
	if err != nil || !strings.Contains(out, "stopped") {
		t.Fatalf("make stop: %v\n%s", err, out)
	}
	for _, p := range started {
		if inSession(p, pid) {
			t.Errorf("process %d of the environment still runs after make stop", p)
		}
	}
}

func checkOutput(t *testing.T, cmd command, out string, want expectation) {
	t.Helper()
	for _, s := range want.contains {
		if !strings.Contains(out, s) {
			t.Errorf("docs/quickstart.md (%s): the output of %q lacks %q:\n%s", cmd.section, cmd.text, s, out)
		}
	}
	if n := len(strings.TrimSpace(out)); n < want.minLength {
		t.Errorf("docs/quickstart.md (%s): the output of %q has %d characters, want at least %d:\n%s", cmd.section, cmd.text, n, want.minLength, out)
	}
	for _, s := range want.lacks {
		if strings.Contains(out, s) {
			t.Errorf("docs/quickstart.md (%s): the output of %q contains %q:\n%s", cmd.section, cmd.text, s, out)
		}
	}
}

// shell runs a script with bash in dir, as the reader's shell would, with -e and pipefail so a
// failing command in a pipe fails the step.
func shell(dir string, env []string, script string) (string, error) {
	cmd := exec.Command("bash", "-c", "set -eo pipefail\n"+script)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// portsEnv picks free ports for kcp, its etcd, the backends and the issuer.
func portsEnv(t *testing.T) []string {
	t.Helper()
	ports, err := servers.FreePorts(6)
	if err != nil {
		t.Fatal(err)
	}
	return []string{
		"KCP_PORT=" + strconv.Itoa(ports[0]),
		"ETCD_CLIENT_PORT=" + strconv.Itoa(ports[1]),
		"ETCD_PEER_PORT=" + strconv.Itoa(ports[2]),
		"BACKEND_PORT=" + strconv.Itoa(ports[3]),
		"ISSUER_PORT=" + strconv.Itoa(ports[4]),
		"TEAM_BACKEND_PORT=" + strconv.Itoa(ports[5]),
	}
}

// copyRepository copies the files git knows about (tracked, and new ones not ignored) into a
// temporary folder, so the test's .bindery/ and bin/ never touch the developer's.
func copyRepository(t *testing.T, root string) string {
	t.Helper()
	out, err := exec.Command("git", "-C", root, "ls-files", "-z", "--cached", "--others", "--exclude-standard").Output()
	if err != nil {
		t.Fatalf("listing the repository's files: %v", err)
	}
	dst := filepath.Join(t.TempDir(), "bindery")
	for _, name := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		src := filepath.Join(root, name)
		info, err := os.Lstat(src)
		if os.IsNotExist(err) {
			continue // deleted in the working tree, not yet in the index
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(dst, filepath.Dir(name)), 0o755); err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, name), data, info.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
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
