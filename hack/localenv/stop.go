package main

import (
	"fmt"
	"os"
	"syscall"
	"time"
)

// stop sends SIGTERM to the serve process group, which stops kcp and the provider cluster, and
// kills the group if it has not exited within a minute.
func stop(opts options) error {
	state := stateDir(opts.stateDir)
	pid := state.runningPid()
	if pid == 0 {
		fmt.Println("the local environment is not running")
		return nil
	}
	fmt.Printf("stopping the local environment (pid %d)\n", pid)
	_ = syscall.Kill(-pid, syscall.SIGTERM)
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		if syscall.Kill(pid, 0) != nil {
			fmt.Println("stopped")
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	fmt.Println("still running after a minute; killing it")
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	_ = os.Remove(state.pidFile())
	_ = os.Remove(state.readyFile())
	return nil
}
