package main

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// stateDir lays out the files of the local environment.
type stateDir string

func (s stateDir) path(name string) string    { return filepath.Join(string(s), name) }
func (s stateDir) pidFile() string            { return s.path("localenv.pid") }
func (s stateDir) readyFile() string          { return s.path("ready") }
func (s stateDir) logFile() string            { return s.path("localenv.log") }
func (s stateDir) kcpDir() string             { return s.path("kcp") }
func (s stateDir) kcpLog() string             { return s.path("kcp.log") }
func (s stateDir) kcpKubeconfig() string      { return s.path("kcp.kubeconfig") }
func (s stateDir) providerEtcd() string       { return s.path("provider/etcd") }
func (s stateDir) providerCerts() string      { return s.path("provider/certs") }
func (s stateDir) providerKubeconfig() string { return s.path("provider.kubeconfig") }
func (s stateDir) consumerEtcd() string       { return s.path("consumer/etcd") }
func (s stateDir) consumerCerts() string      { return s.path("consumer/certs") }
func (s stateDir) consumerKubeconfig() string { return s.path("consumer.kubeconfig") }
func (s stateDir) teamCertsDir() string       { return s.path("team-a-cluster/certs") }
func (s stateDir) teamEtcd() string           { return s.path("team-a-cluster/etcd") }
func (s stateDir) teamKubeconfig() string     { return s.path("team-a-cluster.kubeconfig") }
func (s stateDir) teamBackendURLFile() string { return s.path("team-a-backend-url") }
func (s stateDir) teamClientSecret() string   { return s.path("backend/team-a-client-secret") }
func (s stateDir) backendUsers() string       { return s.path("backend/users.yaml") }
func (s stateDir) issuerDir() string          { return s.path("backend/dev-oidc") }
func (s stateDir) backendURLFile() string     { return s.path("backend-url") }
func (s stateDir) portsFile() string          { return s.path("ports.json") }
func (s stateDir) logsDir() string            { return s.path("logs") }

// providerWorkspaceKubeconfig addresses the provider's kcp workspace, where the APIExport lives.
func (s stateDir) providerWorkspaceKubeconfig() string {
	return s.path("provider-workspace.kubeconfig")
}

// kubeconfig addresses a consumer workspace.
func (s stateDir) kubeconfig(team string) string { return s.path(team + ".kubeconfig") }

// runningPid returns the pid of a live `localenv serve`, or 0.
func (s stateDir) runningPid() int {
	data, err := os.ReadFile(s.pidFile())
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 {
		return 0
	}
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return 0
	}
	// The pid may have been reused by an unrelated process since the environment last ran.
	cmdline, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
	if err != nil || !strings.Contains(string(cmdline), "serve") {
		return 0
	}
	return pid
}
