// Package kcpconfig turns a kubeconfig's rest.Config into configs for kcp's server and its
// workspaces: kcp kubeconfigs name a workspace in the server URL (/clusters/<path>), and bindery's
// commands need to address other workspaces on the same server, and processes they start need
// kubeconfig files for them.
package kcpconfig

import (
	"net/url"
	"strings"

	"github.com/kcp-dev/logicalcluster/v3"
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

// Workspace returns the workspace path or logical cluster name that cfg's server URL names
// (https://kcp:6443/clusters/root:org gives root:org), and false when it names none.
func Workspace(cfg *rest.Config) (logicalcluster.Path, bool, error) {
	u, err := url.Parse(cfg.Host)
	if err != nil {
		return logicalcluster.Path{}, false, err
	}
	_, after, found := strings.Cut(u.Path, "/clusters/")
	if !found {
		return logicalcluster.Path{}, false, nil
	}
	name, _, _ := strings.Cut(after, "/")
	path := logicalcluster.NewPath(name)
	if name == "" || !path.IsValid() {
		return logicalcluster.Path{}, false, nil
	}
	return path, true, nil
}

// ForWorkspace returns cfg addressed at the workspace path on the same kcp server, whatever
// workspace cfg's server URL names.
func ForWorkspace(cfg *rest.Config, path logicalcluster.Path) (*rest.Config, error) {
	server, err := Server(cfg)
	if err != nil {
		return nil, err
	}
	return ForCluster(server, path.String()), nil
}
