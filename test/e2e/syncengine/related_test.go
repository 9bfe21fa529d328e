package syncengine

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/bindery-dev/bindery/pkg/mutation"
	"github.com/bindery-dev/bindery/pkg/syncengine"
	"github.com/bindery-dev/bindery/pkg/templating"
	"github.com/bindery-dev/bindery/test/framework"
)

var (
	configMapKind = schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}
	secretKind    = schema.GroupVersionKind{Version: "v1", Kind: "Secret"}
)

// referenced is a related entry found by a reference path into the primary object.
func referenced(t *testing.T, identifier string, origin syncengine.Origin, gvk schema.GroupVersionKind, path string) syncengine.Related {
	t.Helper()
	ref, err := mutation.ParsePath(path)
	if err != nil {
		t.Fatal(err)
	}
	return syncengine.Related{
		Identifier: identifier, Origin: origin, SourceGVK: gvk, DestinationGVK: gvk,
		SourceResource: gvk.GroupVersion().WithResource(plural(gvk.Kind)), Reference: &ref, Cleanup: true,
	}
}

func plural(kind string) string {
	return map[string]string{"ConfigMap": "configmaps", "Secret": "secrets"}[kind]
}

// TestSourceRelatedObjectsOfTwoNamespacesDoNotCollide syncs two Widgets of two namespaces of one
// source cluster, each referring to a ConfigMap db-config of its own namespace. Under the default
// naming both copies share one destination namespace; their ConfigMaps must still land apart, and
// each copy must refer to its own.
func TestSourceRelatedObjectsOfTwoNamespacesDoNotCollide(t *testing.T) {
	t.Parallel()
	p := newPair(t)
	r := p.reconciler(t, framework.UniqueName("related"))
	r.Related = []syncengine.Related{referenced(t, "config", syncengine.FromSource, configMapKind, "spec.configRef")}
	namespaces := []string{newNamespace(t, p.source, "one"), newNamespace(t, p.source, "two")}
	for _, ns := range namespaces {
		create(t, p.source, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "db-config"}, Data: map[string]string{"from": ns}})
		create(t, p.source, object(sourceWidget, ns, "db", map[string]any{"configRef": "db-config"}))
		reconcile(t, r, ns, "db")
	}
	for _, ns := range namespaces {
		copied := getObject(t, p.destination, destWidget, sourceName, templating.DNSLabel(ns, "db"))
		ref, _, _ := unstructured.NestedString(copied.Object, "spec", "configRef")
		config := getObject(t, p.destination, configMapKind, sourceName, ref)
		if config == nil {
			t.Errorf("the copy of %s/db refers to ConfigMap %q, which is not in the destination", ns, ref)
			continue
		}
		if from, _, _ := unstructured.NestedString(config.Object, "data", "from"); from != ns {
			t.Errorf("the copy of %s/db refers to ConfigMap %s holding the data of %q", ns, ref, from)
		}
	}
}

// TestRelatedCopiesGoWithAGoneSource deletes a synced Widget without the engine's finalizer: its
// copy goes, and so do the copies of its related objects on both sides (a ConfigMap of the source
// side copied to the destination, a Secret of the destination side copied to the source).
func TestRelatedCopiesGoWithAGoneSource(t *testing.T) {
	t.Parallel()
	p := newPair(t)
	r := p.reconciler(t, framework.UniqueName("gone"))
	r.Related = []syncengine.Related{
		referenced(t, "config", syncengine.FromSource, configMapKind, "spec.configRef"),
		referenced(t, "credentials", syncengine.FromDestination, secretKind, "spec.secretRef"),
	}
	ns := newNamespace(t, p.source, "gone")
	create(t, p.source, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "db-config"}})
	create(t, p.source, object(sourceWidget, ns, "db", map[string]any{"configRef": "db-config", "secretRef": "db-creds"}))
	reconcile(t, r, ns, "db")
	// The provider's operator writes the credentials next to the copy.
	create(t, p.destination, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: sourceName, Name: "db-creds"}, StringData: map[string]string{"password": "x"}})
	reconcile(t, r, ns, "db")
	configCopy := templating.DNSLabel(ns, "db-config")
	if getObject(t, p.destination, configMapKind, sourceName, configCopy) == nil || getObject(t, p.source, secretKind, ns, "db-creds") == nil {
		t.Fatal("the related objects were not copied")
	}

	deleteWithoutFinalizer(t, p.source, sourceWidget, ns, "db")
	reconcile(t, r, ns, "db")
	if getObject(t, p.destination, destWidget, sourceName, templating.DNSLabel(ns, "db")) != nil {
		t.Error("the copy stays")
	}
	if getObject(t, p.destination, configMapKind, sourceName, configCopy) != nil {
		t.Error("the copy of the ConfigMap stays in the destination")
	}
	if getObject(t, p.source, secretKind, ns, "db-creds") != nil {
		t.Error("the copy of the credentials Secret stays next to the gone source object")
	}
}
