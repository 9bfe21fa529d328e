package manager

import (
	"testing"

	"github.com/bindery-dev/bindery/test/framework"
)

func TestMain(m *testing.M) { framework.Main(m) }
