package servers

import (
	"os"
	"testing"
	"time"
)

// TestCPUTimeGrowsWithWork spins until the process's CPU time has grown by 200 ms: CPUTime must
// read a growing value, and a wrong field or unit would make it stall or jump.
func TestCPUTimeGrowsWithWork(t *testing.T) {
	start, err := CPUTime(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	wallStart, deadline := time.Now(), time.Now().Add(20*time.Second)
	for {
		now, err := CPUTime(os.Getpid())
		if err != nil {
			t.Fatal(err)
		}
		if now-start >= 200*time.Millisecond {
			if wall := time.Since(wallStart); now-start > 2*wall+50*time.Millisecond {
				t.Fatalf("CPU time grew by %s in %s of wall time on one goroutine", now-start, wall)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("CPU time grew by only %s in 20 s of busy work", now-start)
		}
	}
}
