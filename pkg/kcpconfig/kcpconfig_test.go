package kcpconfig

import (
	"testing"

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
