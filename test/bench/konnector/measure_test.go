package konnectorbench

import (
	"os"
	"slices"
	"sync"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/bindery-dev/bindery/pkg/syncengine"
)

// phase is the testing.TB one system's pass runs under: what framework helpers register with
// Cleanup (servers, processes, contexts, temporary folders) is undone when the pass ends, so the
// next system starts on a quiet machine. If the pass fails, the benchmark's own cleanup undoes it.
type phase struct {
	testing.TB
	mu       sync.Mutex
	cleanups []func()
}

func newPhase(b *testing.B) *phase {
	p := &phase{TB: b}
	b.Cleanup(p.end)
	return p
}

func (p *phase) Cleanup(f func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cleanups = append(p.cleanups, f)
}

func (p *phase) TempDir() string {
	dir, err := os.MkdirTemp("", "bindery-bench-konnector-")
	if err != nil {
		p.Fatal(err)
	}
	p.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

// end runs the cleanups, last registered first; a second call does nothing.
func (p *phase) end() {
	p.mu.Lock()
	cleanups := p.cleanups
	p.cleanups = nil
	p.mu.Unlock()
	for _, f := range slices.Backward(cleanups) {
		f()
	}
}

// sourceName is the name of the consumer's object a copy stands for: bindery marks it in an
// annotation (its copies' names are its own), kube-bind and the raw creates keep the name.
func sourceName(u *unstructured.Unstructured) string {
	if name := u.GetAnnotations()[syncengine.SourceNameAnnotation]; name != "" {
		return name
	}
	return u.GetName()
}
