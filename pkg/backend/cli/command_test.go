package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
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
	for _, flag := range []string{"--kubeconfig", "--listen-address", "--tls-cert-file", "--external-url", "--oidc-issuer-url",
		"--oidc-client-id", "--oidc-client-secret-file", "--oidc-ca-file", "--oidc-username-claim", "--oidc-username-prefix",
		"--oidc-groups-claim", "--oidc-groups-prefix", "--dev-oidc", "--dev-oidc-users", "--dev-oidc-state-dir",
		"--session-duration", "--credential-ttl", "--consumer-server-url", "--kcp-kubeconfig", "--workspace", "docs/backend.md"} {
		if !strings.Contains(out, flag) {
			t.Errorf("--help does not mention %s", flag)
		}
	}
}

// writeKubeconfig writes a kubeconfig for server and returns its path.
func writeKubeconfig(t *testing.T, server string) string {
	t.Helper()
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "`+server+`"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
`), 0o600); err != nil {
		t.Fatal(err)
	}
	return kubeconfig
}

// TestOpaqueConsumerNamesForAWorkspace: serving a kcp workspace, Consumers are named without the
// username unless --opaque-consumer-names=false says otherwise, since the workspace's objects
// travel on to the provider of the bound API with their namespace's name; serving a provider
// cluster, only the flag turns them on.
func TestOpaqueConsumerNamesForAWorkspace(t *testing.T) {
	cluster := writeKubeconfig(t, "https://127.0.0.1:1")
	workspace := writeKubeconfig(t, "https://127.0.0.1:1/clusters/root:team")
	dev := []string{"--dev-oidc", "--dev-oidc-users", "a:b"}
	for _, tc := range []struct {
		args []string
		want bool
	}{
		{append(dev, "--kubeconfig", cluster), false},
		{append(dev, "--kubeconfig", cluster, "--opaque-consumer-names"), true},
		{append(dev, "--kcp-kubeconfig", workspace), true},
		{append(dev, "--kcp-kubeconfig", workspace, "--opaque-consumer-names=false"), false},
	} {
		f := &flags{}
		cmd := &cobra.Command{}
		bindFlags(cmd, f)
		if err := cmd.ParseFlags(tc.args); err != nil {
			t.Fatal(err)
		}
		o, err := f.options()
		if err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		if o.OpaqueConsumerNames != tc.want {
			t.Errorf("%v: opaque Consumer names %v, want %v", tc.args, o.OpaqueConsumerNames, tc.want)
		}
	}
}

func TestBadInputNamesTheFlag(t *testing.T) {
	kubeconfig := writeKubeconfig(t, "https://127.0.0.1:1")
	k := []string{"--kubeconfig", kubeconfig}
	kcpKubeconfig := kubeconfig // its server names no workspace
	dev := []string{"--dev-oidc", "--dev-oidc-users", "a:b"}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{k, "--oidc-issuer-url"},
		{append(k, "--oidc-issuer-url", "https://issuer"), "--oidc-client-id"},
		{append(k, "--oidc-issuer-url", "http://issuer", "--oidc-client-id", "c"), "https"},
		{append(k, "--dev-oidc"), "--dev-oidc-users"},
		{append(k, "--dev-oidc", "--dev-oidc-users", "alice"), "--dev-oidc-users"},
		{append(k, "--dev-oidc", "--dev-oidc-users", "a:b", "--oidc-issuer-url", "https://i"), "--oidc-issuer-url"},
		{append(k, "--dev-oidc", "--dev-oidc-users", "a:b", "--listen-address", "0.0.0.0:8443"), "--tls-cert-file"},
		{append(k, "--dev-oidc", "--dev-oidc-users", "a:b", "--tls-cert-file", "x"), "--tls-private-key-file"},
		{append(k, "--dev-oidc", "--dev-oidc-users", "a:b", "--credential-ttl", "1m"), "--credential-ttl"},
		{append(k, "--dev-oidc", "--dev-oidc-users", "a:b", "--dev-oidc-extra-client", "id-only"), "--dev-oidc-extra-client"},
		{append(k, "--dev-oidc", "--dev-oidc-users", "a:b", "--external-url", "bind.example.com"), "--external-url"},
		{append(k, "--oidc-ca-file", filepath.Join(t.TempDir(), "missing")), "--oidc-ca-file"},
		{[]string{"--kubeconfig", filepath.Join(t.TempDir(), "missing")}, "--kubeconfig"},
		{append(dev, "--kcp-kubeconfig", kcpKubeconfig), "--workspace"},
		{append(dev, "--kcp-kubeconfig", kcpKubeconfig, "--workspace", "Root:Team!"), "--workspace"},
		{append(append(dev, k...), "--kcp-kubeconfig", kcpKubeconfig), "exclude each other"},
		{append(dev, "--workspace", "root:team"), "--kcp-kubeconfig"},
		{append(dev, "--kcp-kubeconfig", filepath.Join(t.TempDir(), "missing"), "--workspace", "root:team"), "--kcp-kubeconfig"},
	} {
		_, err := execute(tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want an error naming %s", tc.args, err, tc.want)
		}
	}
}
