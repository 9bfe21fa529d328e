package servers

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"k8s.io/client-go/rest"
)

// process is one server process: kcp, a shard of a sharded kcp, its cache server or front-proxy.
type process struct {
	name    string
	ports   []int
	log     string
	cmd     *exec.Cmd
	exited  chan struct{}
	exitErr error
}

// startProcess starts binary with its output appended to logPath, in its own process group that
// the kernel kills when the test process dies. ports only name the process's ports in errors.
func startProcess(name, binary, logPath string, ports []int, args ...string) (*process, error) {
	if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
		return nil, err
	}
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening the log of the %s: %w", name, err)
	}
	p := &process{name: name, ports: ports, log: logPath, cmd: exec.Command(binary, args...), exited: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = logFile, logFile
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		_ = logFile.Close()
		return nil, fmt.Errorf("starting the %s: %w", name, err)
	}
	go func() {
		p.exitErr = p.cmd.Wait()
		_ = logFile.Close()
		close(p.exited)
	}()
	return p, nil
}

// waitReady polls /readyz with cfg until it answers 200, the process exits or ctx ends.
func (p *process) waitReady(ctx context.Context, cfg *rest.Config) error {
	return p.waitUntil(ctx, func(ctx context.Context) error { return probe(ctx, cfg, "/readyz") })
}

// waitUntil polls check every 250 ms until it succeeds, the process exits or ctx ends.
func (p *process) waitUntil(ctx context.Context, check func(context.Context) error) error {
	ticker := time.NewTicker(250 * time.Millisecond)
	defer ticker.Stop()
	var last error
	for {
		select {
		case <-p.exited:
			if strings.Contains(p.logTail(50), "address already in use") {
				return fmt.Errorf("%s exited: one of its ports %v is already in use", p.name, p.ports)
			}
			return fmt.Errorf("%s exited: %v", p.name, p.exitErr)
		case <-ctx.Done():
			return fmt.Errorf("%s did not become ready: %w (last check: %v)", p.name, ctx.Err(), last)
		case <-ticker.C:
		}
		if last = check(ctx); last == nil {
			return nil
		}
	}
}

func (p *process) signal(sig syscall.Signal) error {
	select {
	case <-p.exited:
		return errors.New(p.name + " has exited")
	default:
	}
	return syscall.Kill(-p.cmd.Process.Pid, sig)
}

// stop continues a paused process, then terminates it (SIGTERM, SIGKILL after 20 s).
func (p *process) stop() {
	_ = p.signal(syscall.SIGCONT)
	terminate(p.cmd.Process.Pid, p.exited, 20*time.Second)
}

// pid is the process's id.
func (p *process) pid() int { return p.cmd.Process.Pid }

// terminate sends SIGTERM to a process group and SIGKILL if it has not exited within grace.
func terminate(pid int, exited <-chan struct{}, grace time.Duration) {
	_ = syscall.Kill(-pid, syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(grace):
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		<-exited
	}
}

func (p *process) logTail(n int) string { return TailFile(p.log, n) }
