// Command localenv runs bindery's local environment behind `make run` and `make stop`, the one
// docs/quickstart.md walks through: kcp and a provider Kubernetes cluster (kube-apiserver + etcd),
// the example database operator in that cluster, bindery-syncagent publishing its Database API into
// the provider workspace root:provider, bindery-manager, and the consumer workspaces root:team-a and
// root:team-b bound to the export; then bindery-backend with its development OIDC issuer offering
// the same Databases to Kubernetes clusters, and a consumer Kubernetes cluster running
// bindery-konnector, ready for `kubectl bindery bind`; and a second bindery-backend serving the
// workspace root:team-a, with team-a's own Kubernetes cluster and its konnector, for the chain
// team-a's cluster -> root:team-a -> the provider. Everything runs as background processes, with state, logs and
// kubeconfigs in one folder (default .bindery/); a second start reuses the data.
//
//	localenv start   start the environment in the background (or report the running one)
//	localenv stop    stop it and every process it started
//
// `start` forks `localenv serve`, which owns the servers and stops them on SIGTERM.
package main

import (
	"flag"
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		usage()
		os.Exit(2)
	}
	cmd, args := os.Args[1], os.Args[2:]
	fs := flag.NewFlagSet(cmd, flag.ExitOnError)
	opts := options{}
	fs.StringVar(&opts.stateDir, "state", ".bindery", "folder for state, logs and kubeconfigs")
	fs.StringVar(&opts.binDir, "bin-dir", "bin", "folder of the binaries make run builds (bindery-syncagent, bindery-manager, database-operator)")
	fs.IntVar(&opts.kcpPort, "kcp-port", 6443, "secure port of kcp on 127.0.0.1")
	fs.IntVar(&opts.etcdClientPort, "etcd-client-port", 0, "client port of kcp's embedded etcd (default: --kcp-port + 1)")
	fs.IntVar(&opts.etcdPeerPort, "etcd-peer-port", 0, "peer port of kcp's embedded etcd (default: --kcp-port + 2)")
	fs.IntVar(&opts.backendPort, "backend-port", 8443, "port of bindery-backend's page and API on 127.0.0.1")
	fs.IntVar(&opts.issuerPort, "issuer-port", 0, "port of the backend's development OIDC issuer on 127.0.0.1 (default: --backend-port + 1)")
	fs.IntVar(&opts.teamBackendPort, "team-backend-port", 0, "port of the bindery-backend serving the workspace root:team-a on 127.0.0.1 (default: --backend-port + 2)")
	_ = fs.Parse(args)
	if opts.etcdClientPort == 0 {
		opts.etcdClientPort = opts.kcpPort + 1
	}
	if opts.etcdPeerPort == 0 {
		opts.etcdPeerPort = opts.kcpPort + 2
	}
	if opts.issuerPort == 0 {
		opts.issuerPort = opts.backendPort + 1
	}
	if opts.teamBackendPort == 0 {
		opts.teamBackendPort = opts.backendPort + 2
	}

	var err error
	switch cmd {
	case "start":
		err = start(opts)
	case "serve":
		err = serve(opts)
	case "stop":
		err = stop(opts)
	default:
		usage()
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "localenv %s: %v\n", cmd, err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, `usage: localenv start|stop [--state .bindery] [--bin-dir bin] [--kcp-port 6443] [--etcd-client-port N] [--etcd-peer-port N]
                          [--backend-port 8443] [--issuer-port N] [--team-backend-port N]

start  starts kcp, a provider kube cluster, a consumer kube cluster and bindery's quickstart in
       the background and prints how to use them (binaries from --bin-dir, built by make run)
stop   stops them (their data stays in the state folder for the next start)`)
}

type options struct {
	stateDir        string
	binDir          string
	kcpPort         int
	etcdClientPort  int
	etcdPeerPort    int
	backendPort     int
	issuerPort      int
	teamBackendPort int
}
