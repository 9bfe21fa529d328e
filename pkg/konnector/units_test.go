package konnector

import (
	"errors"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	bindv1alpha1 "github.com/bindery-dev/bindery/apis/bind/v1alpha1"
	syncagentv1alpha1 "github.com/bindery-dev/bindery/apis/syncagent/v1alpha1"
	"github.com/bindery-dev/bindery/pkg/syncengine"
)

func boundAPI() *bindv1alpha1.BoundAPI {
	return &bindv1alpha1.BoundAPI{
		ObjectMeta: metav1.ObjectMeta{Name: "databases"},
		Spec: bindv1alpha1.BoundAPISpec{
			Service: "databases", CRD: runtime.RawExtension{Raw: []byte(`{"spec":{}}`)}, SchemaHash: "1",
			ConsumerKind: bindv1alpha1.GroupVersionKind{Group: "example.com", Version: "v1", Kind: "Database", Resource: "databases"},
			ProviderKind: bindv1alpha1.GroupVersionKind{Group: "provider.io", Version: "v1", Kind: "PostgresDB", Resource: "postgresdbs"},
			CopiesStatus: true,
		},
	}
}

func TestConfigFor(t *testing.T) {
	cfg := configFor(boundAPI(), "konnector-databases", "")
	want := syncengine.Kinds{
		Source:                cfg.Kinds.Source.GroupVersion().WithKind("Database"),
		Destination:           cfg.Kinds.Destination.GroupVersion().WithKind("PostgresDB"),
		DestinationNamespaced: true, CopiesStatus: true,
	}
	if cfg.Kinds != want || cfg.Kinds.Source.Group != "example.com" || cfg.Kinds.Destination.Group != "provider.io" {
		t.Errorf("kinds %+v", cfg.Kinds)
	}
	if renamed := configFor(boundAPI(), "konnector-databases", "db.mine.example"); renamed.Kinds.Source.Group != "db.mine.example" || renamed.Kinds.Destination.Group != "provider.io" {
		t.Errorf("renamed kinds %+v: want the consumer side in the binding's group, the provider's kept", renamed.Kinds)
	}
}

func TestFingerprintFollowsTheSyncNotTheSchema(t *testing.T) {
	base := configFor(boundAPI(), "a", "").fingerprint()
	schemaChanged := boundAPI()
	schemaChanged.Spec.CRD.Raw, schemaChanged.Spec.SchemaHash = []byte(`{"spec":{"x":1}}`), "2"
	if configFor(schemaChanged, "a", "").fingerprint() != base {
		t.Error("a schema change replaces the unit; the CRD update is enough")
	}
	naming := boundAPI()
	naming.Spec.Naming = &syncagentv1alpha1.Naming{Name: "{{ .Object.metadata.name }}"}
	version := boundAPI()
	version.Spec.ConsumerKind.Version = "v2"
	for name, fp := range map[string]string{
		"naming":  configFor(naming, "a", "").fingerprint(),
		"version": configFor(version, "a", "").fingerprint(),
		"group":   configFor(boundAPI(), "a", "g.example").fingerprint(),
	} {
		if fp == base {
			t.Errorf("a change of %s keeps the unit", name)
		}
	}
}

func TestUnitBackoff(t *testing.T) {
	for failures, want := range map[int]time.Duration{1: 2 * time.Second, 2: 4 * time.Second, 4: 16 * time.Second, 20: 5 * time.Minute} {
		if got := unitBackoff(failures); got != want {
			t.Errorf("%d failures: %s, want %s", failures, got, want)
		}
	}
}

func TestUnitStatus(t *testing.T) {
	if st, keep := (&unit{running: true}).status(); !keep || st.state != unitRunning {
		t.Errorf("running: %v %v", st.state, keep)
	}
	if st, keep := (&unit{}).status(); !keep || st.state != unitStarting {
		t.Errorf("starting: %v %v", st.state, keep)
	}
	failed := &unit{err: errTest, retryAt: time.Now().Add(time.Minute)}
	if st, keep := failed.status(); !keep || st.state != unitFailed || st.retryIn <= 0 {
		t.Errorf("failed, in backoff: %v %v %s", st.state, keep, st.retryIn)
	}
	if _, keep := (&unit{err: errTest, retryAt: time.Now().Add(-time.Second)}).status(); keep {
		t.Error("failed, backoff over: kept; it would never be restarted")
	}
	if st, keep := (&unit{err: errTest, invalid: true}).status(); !keep || st.state != unitFailed || st.retryIn != 0 {
		t.Errorf("invalid: %v %v %s; want it kept until the BoundAPI changes", st.state, keep, st.retryIn)
	}
}

var errTest = errors.New("test")

func TestAgentName(t *testing.T) {
	for _, binding := range []string{"databases", "a.b.c", strings.Repeat("x", 253)} {
		name := agentName(binding)
		if err := syncengine.ValidateAgentName(name); err != nil {
			t.Errorf("%s: %v", binding, err)
		}
		if agentName(binding) != name {
			t.Errorf("%s: the agent name is not stable", binding)
		}
	}
	if agentName("a.b") == agentName("a-b") {
		t.Error("two bindings share an agent name: their copies would be confused")
	}
}
