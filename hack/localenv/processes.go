package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// process is one of bindery's processes the environment runs (the example operator, the
// syncagent, the manager), with its output in a log file of the state folder.
type process struct {
	name   string
	log    string
	cmd    *exec.Cmd
	exited chan struct{}
}

// startProcess starts binDir/binary with args, logging to logPath. When it exits on its own, a
// line in the environment's log says so and where to look.
func startProcess(name, binary string, args []string, logPath string) (*process, error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	cmd := exec.Command(binary, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s (%s; run make build?): %w", name, binary, err)
	}
	p := &process{name: name, log: logPath, cmd: cmd, exited: make(chan struct{})}
	go func() {
		err := cmd.Wait()
		close(p.exited)
		fmt.Printf("%s exited (%v); its log: %s\n", name, err, logPath)
	}()
	return p, nil
}

// stop sends SIGTERM and waits up to 15 s for a clean shutdown before killing the process.
func (p *process) stop() {
	select {
	case <-p.exited:
		return
	default:
	}
	fmt.Printf("stopping %s\n", p.name)
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(15 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// running reports an error naming the log if the process has exited.
func (p *process) running() error {
	select {
	case <-p.exited:
		return fmt.Errorf("%s exited; see %s", p.name, p.log)
	default:
		return nil
	}
}

// binary is the path of a binary `make run` built into binDir.
func binary(binDir, name string) string { return filepath.Join(binDir, name) }
