// Package kcpconfig turns a kubeconfig's rest.Config into configs for kcp's server and its
// workspaces: kcp kubeconfigs name a workspace in the server URL (/clusters/<path>), and bindery's
// commands need to address other workspaces on the same server, and processes they start need
// kubeconfig files for them.
package kcpconfig

import (
	"net/url"
	"strings"

	"k8s.io/client-go/rest"
)

// Server returns cfg addressed at the kcp server itself, without a /clusters/... path.
func Server(cfg *rest.Config) (*rest.Config, error) {
	u, err := url.Parse(cfg.Host)
	if err != nil {
		return nil, err
	}
	if i := strings.Index(u.Path, "/clusters/"); i >= 0 {
		u.Path = u.Path[:i]
	}
	server := rest.CopyConfig(cfg)
	server.Host = strings.TrimSuffix(u.String(), "/")
	return server, nil
}

// ForCluster returns a server config addressed at one workspace path or logical cluster name.
func ForCluster(server *rest.Config, cluster string) *rest.Config {
	cfg := rest.CopyConfig(server)
	cfg.Host = strings.TrimSuffix(server.Host, "/") + "/clusters/" + cluster
	return cfg
}
