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

func TestVersion(t *testing.T) {
	out, err := execute("version")
	if err != nil || strings.TrimSpace(out) == "" {
		t.Fatalf("version: %q, %v", out, err)
	}
}

func TestHelpExplainsEveryFlag(t *testing.T) {
	out, err := execute("--help")
	if err != nil {
		t.Fatal(err)
	}
	for _, flag := range []string{"--kcp-kubeconfig", "--apiexport-endpoint-slice", "--kubeconfig", "--agent-name",
		"--namespace", "--published-resource-selector", "--leader-elect", "--metrics-bind-address", "--health-probe-bind-address",
		"--kube-api-qps", "--kube-api-burst", "--consumer-events", "--presence-lease-duration"} {
		if !strings.Contains(out, flag) {
			t.Errorf("--help does not mention %s", flag)
		}
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
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--kubeconfig", kubeconfig}, "--kcp-kubeconfig"},
		{[]string{"--kcp-kubeconfig", kubeconfig, "--kubeconfig", kubeconfig, "--published-resource-selector", "a in (b"}, "--published-resource-selector"},
		{[]string{"--kcp-kubeconfig", kubeconfig, "--kubeconfig", kubeconfig}, "--apiexport-endpoint-slice"},
		{[]string{"--kcp-kubeconfig", kubeconfig, "--kubeconfig", kubeconfig, "--apiexport-endpoint-slice", "x"}, "--agent-name"},
		{[]string{"--kcp-kubeconfig", filepath.Join(t.TempDir(), "missing"), "--kubeconfig", kubeconfig}, "--kcp-kubeconfig"},
		{[]string{"--kcp-kubeconfig", kubeconfig, "--kubeconfig", kubeconfig, "--apiexport-endpoint-slice", "x", "--agent-name", "Not_A_Label"}, "--agent-name"},
		{[]string{"--kcp-kubeconfig", kubeconfig, "--kubeconfig", kubeconfig, "--apiexport-endpoint-slice", "x", "--agent-name", "a", "--consumer-events", "none"}, "--consumer-events"},
	} {
		_, err := execute(tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want one naming %s", tc.args, err, tc.want)
		}
	}
}
