package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/bindery-dev/bindery/pkg/devoidc"
	"github.com/bindery-dev/bindery/pkg/kcpconfig"
	"github.com/bindery-dev/bindery/test/servers"
)

// environment is what `localenv serve` runs: the servers, and bindery's processes next to them.
type environment struct {
	state    stateDir
	binDir   string
	kcp      *servers.KCP
	provider *servers.Kube
	consumer *servers.Kube
	// teamCluster is team-a's own Kubernetes cluster, which extends the workspace root:team-a.
	teamCluster *servers.Kube
	processes   []*process
	// backendURL is where bindery-backend serves; users are its development issuer's.
	backendURL string
	users      []devoidc.User
	// teamBackendURL is where the bindery-backend serving root:team-a serves.
	teamBackendURL string
}

// serve starts the servers and the quickstart's processes in the foreground, writes kubeconfigs
// and the ready marker, and stops everything on SIGTERM or SIGINT. Its output goes to
// localenv.log, which `start` follows.
func serve(opts options) error {
	// envtest logs through controller-runtime, which prints a warning with a stack trace when no
	// logger is set; `make run` follows this process's output, and a newcomer should see only
	// the environment's own progress lines (each process logs into its own file).
	ctrllog.SetLogger(logr.Discard())
	e := &environment{state: stateDir(opts.stateDir), binDir: opts.binDir}
	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer cancel()
	if err := os.WriteFile(e.state.pidFile(), []byte(fmt.Sprint(os.Getpid())), 0o644); err != nil {
		return err
	}
	defer os.Remove(e.state.pidFile())
	if err := os.MkdirAll(e.state.logsDir(), 0o755); err != nil {
		return err
	}

	stopServers, err := e.startServers(ctx, opts)
	defer stopServers()
	// Deferred after the servers' stop, so it runs before it: the processes go first, while the
	// servers they talk to still answer.
	defer e.stopProcesses()
	if err != nil {
		return err
	}
	for _, step := range []struct {
		what string
		run  func(context.Context) error
	}{
		{"the example database operator in the provider cluster", e.startOperator},
		{"the provider workspace " + providerWorkspace + " with its APIExport " + exportName, e.createProviderWorkspace},
		{"bindery-syncagent, publishing Databases into the export", e.startSyncAgent},
		{"bindery-manager, listing the export in the catalog " + catalogWorkspace, e.startManager},
		{"the consumer workspaces " + strings.Join(consumerWorkspaces, " and ") + ", bound to the export", e.bindConsumers},
		{fmt.Sprintf("bindery-backend on 127.0.0.1:%d with its development OIDC issuer, offering Databases to Kubernetes clusters", opts.backendPort),
			func(ctx context.Context) error { return e.startBackend(ctx, opts) }},
		{"bindery-konnector in the consumer cluster", func(ctx context.Context) error {
			return e.startKonnector(ctx, "bindery-konnector", e.consumer, e.state.consumerKubeconfig())
		}},
		{fmt.Sprintf("bindery-backend on 127.0.0.1:%d serving the workspace root:team-a, signing in at the same issuer", opts.teamBackendPort),
			func(ctx context.Context) error { return e.startTeamBackend(ctx, opts) }},
		{"bindery-konnector in team-a's cluster", func(ctx context.Context) error {
			return e.startKonnector(ctx, "bindery-konnector-team-a", e.teamCluster, e.state.teamKubeconfig())
		}},
	} {
		if err := e.runStep(ctx, step.what, step.run); err != nil {
			return err
		}
	}

	if err := os.WriteFile(e.state.readyFile(), []byte(e.summary()), 0o644); err != nil {
		return err
	}
	defer os.Remove(e.state.readyFile())
	<-ctx.Done()
	return nil
}

// startServers starts kcp and the provider cluster and writes their kubeconfigs. The returned
// function stops whatever started, also when an error is returned.
func (e *environment) startServers(ctx context.Context, opts options) (stop func(), err error) {
	var stops []func()
	stop = func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}
	err = e.runStep(ctx, fmt.Sprintf("kcp on 127.0.0.1:%d (ready in about 25 s; log: %s)", opts.kcpPort, e.state.kcpLog()), func(ctx context.Context) error {
		kcp, err := servers.StartKCP(ctx, servers.KCPOptions{
			RootDir:        e.state.kcpDir(),
			SecurePort:     opts.kcpPort,
			EtcdClientPort: opts.etcdClientPort,
			EtcdPeerPort:   opts.etcdPeerPort,
			LogPath:        e.state.kcpLog(),
		})
		if err != nil {
			return fmt.Errorf("starting kcp (KCP_PORT=... picks other ports): %w", err)
		}
		e.kcp = kcp
		stops = append(stops, func() { fmt.Println("stopping kcp"); kcp.Stop() })
		// kcp writes a new admin token on every start, so the copy is refreshed every time.
		return copyFile(kcp.AdminKubeconfigPath(), e.state.kcpKubeconfig())
	})
	if err != nil {
		return stop, err
	}
	ports, err := loadPorts(e.state.portsFile())
	if err != nil {
		return stop, err
	}
	for _, cluster := range []struct {
		what                    string
		port                    int
		etcd, certs, kubeconfig string
		started                 **servers.Kube
	}{
		{"the provider cluster", ports.Provider, e.state.providerEtcd(), e.state.providerCerts(), e.state.providerKubeconfig(), &e.provider},
		{"the consumer cluster", ports.Consumer, e.state.consumerEtcd(), e.state.consumerCerts(), e.state.consumerKubeconfig(), &e.consumer},
		{"team-a's cluster", ports.TeamA, e.state.teamEtcd(), e.state.teamCertsDir(), e.state.teamKubeconfig(), &e.teamCluster},
	} {
		err = e.runStep(ctx, fmt.Sprintf("%s (kube-apiserver + etcd) on 127.0.0.1:%d", cluster.what, cluster.port), func(context.Context) error {
			kube, err := servers.StartKube(servers.KubeOptions{EtcdDataDir: cluster.etcd, CertDir: cluster.certs, SecurePort: cluster.port})
			if err != nil {
				return err
			}
			*cluster.started = kube
			stops = append(stops, func() { fmt.Println("stopping " + cluster.what); _ = kube.Stop() })
			return os.WriteFile(cluster.kubeconfig, kube.Kubeconfig(), 0o600)
		})
		if err != nil {
			return stop, err
		}
	}
	return stop, nil
}

// runStep prints what starts, progress every 10 s, and how long it took.
func (e *environment) runStep(ctx context.Context, what string, run func(context.Context) error) error {
	fmt.Printf("==> %s\n", what)
	start := time.Now()
	done := reportProgress(what)
	err := run(ctx)
	done()
	if err != nil {
		return err
	}
	fmt.Printf("    done in %s\n", time.Since(start).Round(100*time.Millisecond))
	return nil
}

// start starts one of bindery's processes from the binaries `make run` built.
func (e *environment) start(name string, args ...string) error {
	return e.startAs(name, name, args...)
}

// startAs starts the binary under another name, for its log, when it runs more than once.
func (e *environment) startAs(name, binaryName string, args ...string) error {
	p, err := startProcess(name, binary(e.binDir, binaryName), args, filepath.Join(e.state.logsDir(), name+".log"))
	if err != nil {
		return err
	}
	e.processes = append(e.processes, p)
	fmt.Printf("    %s started (log: %s)\n", name, p.log)
	return nil
}

// stopProcesses stops bindery's processes in reverse start order, before the servers they use.
func (e *environment) stopProcesses() {
	for i := len(e.processes) - 1; i >= 0; i-- {
		e.processes[i].stop()
	}
}

// workspaceConfig is the kcp admin's config for a workspace path.
func (e *environment) workspaceConfig(path string) *rest.Config {
	return e.kcp.ClusterConfig(path)
}

func writeKubeconfig(cfg *rest.Config, name, path string) error {
	return clientcmd.WriteToFile(*kcpconfig.Kubeconfig(cfg, name), path)
}

func copyFile(from, to string) error {
	data, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, data, 0o600)
}

// summary is what `make run` prints once the environment is ready.
func (e *environment) summary() string {
	s := e.state
	return fmt.Sprintf(`bindery local environment is ready (state, logs and kubeconfigs in %[1]s/)

  kcp                   %[2]s (log %[3]s)
  provider cluster      %[4]s
  consumer cluster      %[13]s
  team-a's cluster      %[19]s (extends the workspace root:team-a)
  bindery-backend       %[14]s (development OIDC issuer; its CA: %[15]s/ca.crt)
                        %[20]s (serves the workspace root:team-a, same issuer)
  processes             database-operator, bindery-syncagent, bindery-manager, two bindery-backends,
                        two bindery-konnectors (logs in %[5]s/)

Kubeconfigs:
  %[6]s             kcp admin, workspace root
  %[7]s  the provider's workspace %[8]s (APIExport %[9]s)
  %[10]s          consumer workspace root:team-a
  %[11]s          consumer workspace root:team-b
  %[12]s        the provider's Kubernetes cluster
  %[16]s        a consumer's own Kubernetes cluster (runs bindery-konnector)
  %[21]s  team-a's own Kubernetes cluster (runs bindery-konnector)

Users of the development issuer (also in %[17]s):
%[18]s
Next steps (docs/quickstart.md walks through them):
  export PATH=$PWD/bin:$PWD/bin/tools:$PATH
  kubectl --kubeconfig %[10]s apply -f examples/quickstart/database.yaml
  kubectl --kubeconfig %[10]s wait database/orders --for=condition=Ready --timeout=2m
  kubectl bindery catalog --kubeconfig %[6]s
  kubectl bindery bind %[14]s --kubeconfig %[16]s --konnector=skip
  kubectl bindery bind %[20]s --kubeconfig %[21]s --konnector=skip

Stop everything with: make stop (data stays in %[1]s/ for the next make run)
`, s, e.kcp.AdminConfig().Host, s.kcpLog(), e.provider.Config().Host, s.logsDir(),
		s.kcpKubeconfig(), s.providerWorkspaceKubeconfig(), providerWorkspace, exportName,
		s.kubeconfig("team-a"), s.kubeconfig("team-b"), s.providerKubeconfig(),
		e.consumer.Config().Host, e.backendURL, s.issuerDir(), s.consumerKubeconfig(), s.backendUsers(), e.userLines(),
		e.teamCluster.Config().Host, e.teamBackendURL, s.teamKubeconfig())
}

// userLines lists the issuer's users with their passwords and what they may do.
func (e *environment) userLines() string {
	var b strings.Builder
	for _, u := range e.users {
		may := "may sign in, but not bind (no RBAC for it)"
		if u.Username == devUserNames[0] {
			may = "may bind the Service " + serviceName + " at both backends"
		}
		fmt.Fprintf(&b, "  %-8s password %s  %s\n", u.Username, u.Password, may)
	}
	return b.String()
}

// reportProgress prints a line every 10 s until the returned function is called, so a slow start
// never looks hung.
func reportProgress(what string) (done func()) {
	stop := make(chan struct{})
	start := time.Now()
	go func() {
		ticker := time.NewTicker(10 * time.Second)
		defer ticker.Stop()
		for {
			select {
			case <-stop:
				return
			case <-ticker.C:
				fmt.Printf("    ... still waiting for %s (%s)\n", what, time.Since(start).Round(time.Second))
			}
		}
	}()
	return func() { close(stop) }
}
