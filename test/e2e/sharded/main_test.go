// Package sharded runs bindery against a sharded kcp: the root shard and shard-1 with a cache
// server and a front-proxy, started once for the package (framework.MainSharded). Consumer
// workspaces are scheduled onto a chosen shard; the tests prove that the providers, the syncagent
// and the manager cover both, and what happens while one shard does not answer.
package sharded

import (
	"testing"

	"github.com/bindery-dev/bindery/test/framework"
)

func TestMain(m *testing.M) { framework.MainSharded(m) }
