// Command localenv runs bindery's local environment behind `make run` and `make stop`: a kcp and a
// provider Kubernetes cluster (kube-apiserver + etcd) as background processes, with their state,
// logs and kubeconfigs in one folder (default .bindery/).
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
	fs.IntVar(&opts.kcpPort, "kcp-port", 6443, "secure port of kcp on 127.0.0.1")
	_ = fs.Parse(args)

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
	fmt.Fprintln(os.Stderr, `usage: localenv start|stop [--state .bindery] [--kcp-port 6443]

start  starts kcp and a provider kube cluster in the background and prints how to use them
stop   stops them (their data stays in the state folder for the next start)`)
}

type options struct {
	stateDir string
	kcpPort  int
}
