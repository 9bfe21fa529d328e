package main

import (
	"flag"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	dbv1alpha1 "github.com/bindery-dev/bindery/examples/database-operator/api/v1alpha1"
)

// TestFlagDefaults: bindery's local environment starts the operator with nothing but --kubeconfig,
// next to other processes on the same host, so by default it must install its CRD, open no ports
// and not wait for a leader lease.
func TestFlagDefaults(t *testing.T) {
	fs := flag.NewFlagSet("database-operator", flag.ContinueOnError)
	opts := bindFlags(fs)
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	if !opts.installCRD || opts.metricsAddress != "0" || opts.probeAddress != "0" || opts.leaderElect {
		t.Errorf("defaults = %+v, want --install-crd, no metrics, no probes, no leader election", *opts)
	}
}

func TestSchemeKnowsTheTypesItUses(t *testing.T) {
	s := newScheme()
	for _, gvk := range []schema.GroupVersionKind{
		dbv1alpha1.GroupVersion.WithKind("Database"),
		corev1.SchemeGroupVersion.WithKind("Secret"),
		apiextensionsv1.SchemeGroupVersion.WithKind("CustomResourceDefinition"), // --install-crd
	} {
		if !s.Recognizes(gvk) {
			t.Errorf("the scheme does not know %s", gvk)
		}
	}
}
