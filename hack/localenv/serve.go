package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/bindery-dev/bindery/test/servers"
)

// serve starts the servers in the foreground, writes kubeconfigs and the ready marker, and stops
// everything on SIGTERM or SIGINT. Its output goes to localenv.log, which `start` follows.
func serve(opts options) error {
	state := stateDir(opts.stateDir)
	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer cancel()
	if err := os.WriteFile(state.pidFile(), []byte(fmt.Sprint(os.Getpid())), 0o644); err != nil {
		return err
	}
	defer os.Remove(state.pidFile())

	fmt.Printf("starting kcp on 127.0.0.1:%d (ready in about 25 s; log: %s)\n", opts.kcpPort, state.kcpLog())
	done := reportProgress("kcp")
	kcp, err := servers.StartKCP(ctx, servers.KCPOptions{
		RootDir:        state.kcpDir(),
		SecurePort:     opts.kcpPort,
		EtcdClientPort: opts.etcdClientPort,
		EtcdPeerPort:   opts.etcdPeerPort,
		LogPath:        state.kcpLog(),
	})
	done()
	if err != nil {
		return fmt.Errorf("starting kcp (KCP_PORT=... picks other ports): %w", err)
	}
	defer func() { fmt.Println("stopping kcp"); kcp.Stop() }()
	if err := copyFile(kcp.AdminKubeconfigPath(), state.kcpKubeconfig()); err != nil {
		return err
	}
	fmt.Printf("kcp is ready: %s\n", state.kcpKubeconfig())

	fmt.Println("starting the provider cluster (kube-apiserver + etcd)")
	done = reportProgress("the provider cluster")
	provider, err := servers.StartKube(servers.KubeOptions{EtcdDataDir: state.providerEtcd()})
	done()
	if err != nil {
		return err
	}
	defer func() { fmt.Println("stopping the provider cluster"); _ = provider.Stop() }()
	if err := os.WriteFile(state.providerKubeconfig(), provider.Kubeconfig(), 0o600); err != nil {
		return err
	}
	fmt.Printf("provider cluster is ready: %s\n", state.providerKubeconfig())

	if err := os.WriteFile(state.readyFile(), []byte(summary(state, kcp, provider)), 0o644); err != nil {
		return err
	}
	defer os.Remove(state.readyFile())
	<-ctx.Done()
	return nil
}

func copyFile(from, to string) error {
	data, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, data, 0o600)
}

// summary is what `make run` prints once the environment is ready.
func summary(state stateDir, kcp *servers.KCP, provider *servers.Kube) string {
	return fmt.Sprintf(`bindery local environment is ready (state, logs and kubeconfigs in %[1]s/)

  kcp               %[2]s
                    kubeconfig %[3]s, log %[4]s
  provider cluster  %[5]s
                    kubeconfig %[6]s

Next steps (kubectl v1.35 is in bin/tools):
  export PATH=$PWD/bin/tools:$PATH
  kubectl --kubeconfig %[3]s get workspaces
  kubectl --kubeconfig %[6]s get namespaces

Stop everything with: make stop (data stays in %[1]s/ for the next make run)
`, state, kcp.AdminConfig().Host, state.kcpKubeconfig(), state.kcpLog(), provider.Config().Host, state.providerKubeconfig())
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
				fmt.Printf("  ... still starting %s (%s)\n", what, time.Since(start).Round(time.Second))
			}
		}
	}()
	return func() { close(stop) }
}
