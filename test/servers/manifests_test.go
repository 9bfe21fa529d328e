package servers

import "testing"

func TestDecodeManifestsSkipsCommentOnlyDocuments(t *testing.T) {
	objects, err := DecodeManifests([]byte(`# a header comment only
---
apiVersion: v1
kind: Namespace
metadata:
  name: a
---
# between
---
apiVersion: v1
kind: ConfigMap
metadata: {name: b, namespace: a}
`))
	if err != nil {
		t.Fatal(err)
	}
	if len(objects) != 2 || objects[0].GetKind() != "Namespace" || objects[1].GetName() != "b" {
		t.Fatalf("got %d objects: %v", len(objects), objects)
	}
	if _, err := DecodeManifests([]byte("kind: [unclosed")); err == nil {
		t.Error("broken YAML decoded without an error")
	}
}
