package kcpconfig

import (
	"testing"

	"github.com/kcp-dev/logicalcluster/v3"
	"k8s.io/client-go/rest"
)

func TestServerAndForCluster(t *testing.T) {
	for _, host := range []string{"https://kcp:6443", "https://kcp:6443/", "https://kcp:6443/clusters/root:org"} {
		server, err := Server(&rest.Config{Host: host})
		if err != nil {
			t.Fatal(err)
		}
		if server.Host != "https://kcp:6443" {
			t.Errorf("Server(%q) = %q", host, server.Host)
		}
		if got := ForCluster(server, "root:catalog").Host; got != "https://kcp:6443/clusters/root:catalog" {
			t.Errorf("ForCluster = %q", got)
		}
	}
}

func TestWorkspace(t *testing.T) {
	for host, want := range map[string]string{
		"https://kcp:6443/clusters/root:org":          "root:org",
		"https://kcp:6443/clusters/root:org/":         "root:org",
		"https://kcp:6443/clusters/2x9lz7dkw4y0i5mp":  "2x9lz7dkw4y0i5mp",
		"https://kcp:6443/prefix/clusters/root:team":  "root:team",
		"https://kcp:6443":                            "",
		"https://kcp:6443/clusters/":                  "",
		"https://kcp:6443/clusters/Not_A_Workspace!!": "",
	} {
		path, ok, err := Workspace(&rest.Config{Host: host})
		if err != nil || ok != (want != "") || path.String() != want {
			t.Errorf("Workspace(%q) = %q, %v, %v; want %q", host, path, ok, err, want)
		}
	}
	cfg, err := ForWorkspace(&rest.Config{Host: "https://kcp:6443/clusters/root:org"}, logicalcluster.NewPath("root:team"))
	if err != nil || cfg.Host != "https://kcp:6443/clusters/root:team" {
		t.Errorf("ForWorkspace = %v, %v", cfg, err)
	}
}
