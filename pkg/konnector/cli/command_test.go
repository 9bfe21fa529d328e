package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func execute(args ...string) (string, error) {
	cmd := NewCommand()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), err
}

func TestHelpExplainsEveryFlag(t *testing.T) {
	out, err := execute("--help")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"--kubeconfig", "--namespace", "--leader-elect", "--metrics-bind-address",
		"--health-probe-bind-address", "--kube-api-qps", "--kube-api-burst", "--heartbeat-interval", "--zap-log-level",
		"ServiceBinding", "Connected", "SchemaInSync", "Synced", "Ready", "Revoked", "kubectl bindery bind", "*/*/*"} {
		if !strings.Contains(out, want) {
			t.Errorf("--help does not mention %s", want)
		}
	}
}

func TestVersion(t *testing.T) {
	out, err := execute("version")
	if err != nil || strings.TrimSpace(out) == "" {
		t.Fatalf("version: %q, %v", out, err)
	}
}

func TestBadInputNamesTheFlag(t *testing.T) {
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
`), 0o600); err != nil {
		t.Fatal(err)
	}
	k := []string{"--kubeconfig", kubeconfig}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{append(k, "--heartbeat-interval", "10ms"), "--heartbeat-interval"},
		{append(k, "--heartbeat-interval", "soon"), "--heartbeat-interval"},
		{append(k, "--kube-api-qps", "0"), "--kube-api-qps"},
		{append(k, "--namespace", ""), "--namespace"},
		{append(k, "--leader-elect=maybe"), "--leader-elect"},
		{append(k, "--no-such-flag"), "--no-such-flag"},
		{[]string{"--kubeconfig", filepath.Join(t.TempDir(), "missing")}, "--kubeconfig"},
	} {
		_, err := execute(tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want an error naming %s", tc.args, err, tc.want)
		}
	}
}
