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

	"github.com/bindery-dev/bindery/pkg/kcpconfig"
	"github.com/bindery-dev/bindery/test/servers"
)

// environment is what `localenv serve` runs: the servers, and bindery's processes next to them.
type environment struct {
	state     stateDir
	binDir    string
	kcp       *servers.KCP
	provider  *servers.Kube
	processes []*process
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
	defer e.stopProcesses()
	if err := os.MkdirAll(e.state.logsDir(), 0o755); err != nil {
		return err
	}

	stopServers, err := e.startServers(ctx, opts)
	defer stopServers()
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
	err = e.runStep(ctx, "the provider cluster (kube-apiserver + etcd)", func(context.Context) error {
		provider, err := servers.StartKube(servers.KubeOptions{EtcdDataDir: e.state.providerEtcd()})
		if err != nil {
			return err
		}
		e.provider = provider
		stops = append(stops, func() { fmt.Println("stopping the provider cluster"); _ = provider.Stop() })
		return os.WriteFile(e.state.providerKubeconfig(), provider.Kubeconfig(), 0o600)
	})
	return stop, err
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
	p, err := startProcess(name, binary(e.binDir, name), args, filepath.Join(e.state.logsDir(), name+".log"))
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
  processes             database-operator, bindery-syncagent, bindery-manager (logs in %[5]s/)

Kubeconfigs:
  %[6]s             kcp admin, workspace root
  %[7]s  the provider's workspace %[8]s (APIExport %[9]s)
  %[10]s          consumer workspace root:team-a
  %[11]s          consumer workspace root:team-b
  %[12]s        the provider's Kubernetes cluster

Next steps (docs/quickstart.md walks through them):
  export PATH=$PWD/bin:$PWD/bin/tools:$PATH
  kubectl --kubeconfig %[10]s apply -f examples/quickstart/database.yaml
  kubectl --kubeconfig %[10]s wait database/orders --for=condition=Ready --timeout=2m
  kubectl bindery catalog --kubeconfig %[6]s

Stop everything with: make stop (data stays in %[1]s/ for the next make run)
`, s, e.kcp.AdminConfig().Host, s.kcpLog(), e.provider.Config().Host, s.logsDir(),
		s.kcpKubeconfig(), s.providerWorkspaceKubeconfig(), providerWorkspace, exportName,
		s.kubeconfig("team-a"), s.kubeconfig("team-b"), s.providerKubeconfig())
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
