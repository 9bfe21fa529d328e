package syncagent

import (
	"testing"
	"time"
)

func TestUnitBackoff(t *testing.T) {
	for failures, want := range map[int]time.Duration{
		1: 2 * time.Second, 2: 4 * time.Second, 3: 8 * time.Second, 8: 256 * time.Second,
		9: 5 * time.Minute, 100: 5 * time.Minute,
	} {
		if got := unitBackoff(failures); got != want {
			t.Errorf("unitBackoff(%d) = %s, want %s", failures, got, want)
		}
	}
}
