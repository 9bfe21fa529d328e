package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// start launches `localenv serve` in its own session, follows its log until the environment is
// ready, and prints the summary. If the environment already runs, it only prints the summary.
func start(opts options) error {
	state := stateDir(opts.stateDir)
	if pid := state.runningPid(); pid != 0 {
		if summary, err := os.ReadFile(state.readyFile()); err == nil {
			fmt.Printf("the local environment is already running (pid %d)\n\n%s", pid, summary)
			return nil
		}
		return fmt.Errorf("a local environment (pid %d) is still starting or stopping; wait, or run make stop", pid)
	}
	if err := os.MkdirAll(opts.stateDir, 0o755); err != nil {
		return err
	}
	_ = os.Remove(state.readyFile())
	logFile, err := os.Create(state.logFile())
	if err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.Command(self, "serve", "--state", opts.stateDir, "--bin-dir", opts.binDir, "--kcp-port", fmt.Sprint(opts.kcpPort),
		"--etcd-client-port", fmt.Sprint(opts.etcdClientPort), "--etcd-peer-port", fmt.Sprint(opts.etcdPeerPort),
		"--backend-port", fmt.Sprint(opts.backendPort), "--issuer-port", fmt.Sprint(opts.issuerPort),
		"--team-backend-port", fmt.Sprint(opts.teamBackendPort))
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting the environment: %w", err)
	}
	_ = logFile.Close()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	return followUntilReady(state, exited)
}

// followUntilReady prints the serve log as it grows until the ready marker appears or serve exits.
func followUntilReady(state stateDir, exited <-chan error) error {
	log, err := os.Open(state.logFile())
	if err != nil {
		return err
	}
	defer log.Close()
	ticker := time.NewTicker(200 * time.Millisecond)
	defer ticker.Stop()
	for {
		_, _ = io.Copy(os.Stdout, log)
		if summary, err := os.ReadFile(state.readyFile()); err == nil {
			fmt.Printf("\n%s", summary)
			return nil
		}
		select {
		case err := <-exited:
			_, _ = io.Copy(os.Stdout, log)
			if err == nil {
				err = errors.New("exited before it was ready")
			}
			return fmt.Errorf("the environment failed to start (%v); see %s", err, state.logFile())
		case <-ticker.C:
		}
	}
}
