package fleet

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/go-logr/logr"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestAnsweredTellsServerErrorsFromUnreachable(t *testing.T) {
	for err, want := range map[error]bool{
		apierrors.NewForbidden(schema.GroupResource{Resource: "apibindings"}, "", errors.New("no")): true,
		fmt.Errorf("listing: %w", apierrors.NewNotFound(schema.GroupResource{}, "x")):               true,
		context.DeadlineExceeded:                             false,
		errors.New("dial tcp 127.0.0.1:1: connect: refused"): false,
	} {
		if got := answered(err); got != want {
			t.Errorf("answered(%v) = %v, want %v", err, got, want)
		}
	}
}

func TestRecordReportsOnlyChanges(t *testing.T) {
	e := &Engine{opts: Options{Log: logr.Discard()}}
	ep := &endpoint{engine: e, url: "https://shard-1"}
	timeout := context.DeadlineExceeded
	for i, step := range []struct {
		err     error
		changed bool
	}{{nil, true}, {nil, false}, {timeout, true}, {timeout, false}, {nil, true}} {
		if got := ep.record(step.err); got != step.changed {
			t.Errorf("step %d (%v): changed = %v, want %v", i, step.err, got, step.changed)
		}
	}
	if !ep.health.Reachable || ep.health.Since.IsZero() {
		t.Errorf("after recovering: %+v", ep.health)
	}
}
