package mutation

import (
	"reflect"
	"strings"
	"testing"
)

func TestParsePath(t *testing.T) {
	for _, tt := range []struct {
		in        string
		keys      []string
		indexes   []int
		roundTrip string
	}{
		{"spec", []string{"spec"}, []int{-1}, "spec"},
		{"spec.database.host", []string{"spec", "database", "host"}, []int{-1, -1, -1}, "spec.database.host"},
		{"spec.ports.0.name", []string{"spec", "ports", "0", "name"}, []int{-1, -1, 0, -1}, "spec.ports.0.name"},
		{"spec.items.10", []string{"spec", "items", "10"}, []int{-1, -1, 10}, "spec.items.10"},
		{`metadata.annotations.example\.com/owner`, []string{"metadata", "annotations", "example.com/owner"}, []int{-1, -1, -1}, `metadata.annotations.example\.com/owner`},
		{`a\\b`, []string{`a\b`}, []int{-1}, `a\\b`},
	} {
		p, err := ParsePath(tt.in)
		if err != nil {
			t.Errorf("ParsePath(%q): %v", tt.in, err)
			continue
		}
		var keys []string
		var indexes []int
		for _, s := range p.segments {
			keys = append(keys, s.key)
			indexes = append(indexes, s.index)
		}
		if !reflect.DeepEqual(keys, tt.keys) || !reflect.DeepEqual(indexes, tt.indexes) {
			t.Errorf("ParsePath(%q) = %q %v, want %q %v", tt.in, keys, indexes, tt.keys, tt.indexes)
		}
		if p.String() != tt.roundTrip {
			t.Errorf("ParsePath(%q).String() = %q, want %q", tt.in, p.String(), tt.roundTrip)
		}
	}
}

func TestParsePathErrors(t *testing.T) {
	for in, want := range map[string]string{
		"":                                "must not be empty",
		".spec":                           "empty segment at position 1",
		"spec.":                           "empty segment at position 2",
		"spec..host":                      "empty segment at position 2",
		"spec.ports.-1":                   "negative",
		"spec.ports.01":                   "leading zero",
		"spec.ports.99999999999999999999": "too large",
		`spec\`:                           `"\" must be followed`,
		`spec\x`:                          `"\" must be followed`,
	} {
		_, err := ParsePath(in)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParsePath(%q) error = %v, want it to contain %q", in, err, want)
		}
	}
}

func mustPath(t *testing.T, p string) Path {
	t.Helper()
	parsed, err := ParsePath(p)
	if err != nil {
		t.Fatalf("ParsePath(%q): %v", p, err)
	}
	return parsed
}

func pathTestObject() map[string]any {
	return map[string]any{
		"metadata": map[string]any{
			"annotations": map[string]any{"example.com/owner": "team-a"},
			"labels":      map[string]any{"0": "numeric key"},
		},
		"spec": map[string]any{
			"host":  "db.internal",
			"null":  nil,
			"ports": []any{map[string]any{"name": "pg", "port": int64(5432)}, "plain", nil},
		},
	}
}

func TestPathGet(t *testing.T) {
	obj := pathTestObject()
	for _, tt := range []struct {
		path  string
		want  any
		found bool
	}{
		{"spec.host", "db.internal", true},
		{"spec.ports.0.name", "pg", true},
		{"spec.ports.1", "plain", true},
		{"spec.ports.5", nil, false},
		{"spec.ports.2.name", nil, false}, // through null
		{"spec.null.x", nil, false},
		{"spec.missing.x", nil, false},
		{`metadata.annotations.example\.com/owner`, "team-a", true},
		{"metadata.labels.0", "numeric key", true}, // a number on an object is a field name
	} {
		got, found, err := mustPath(t, tt.path).Get(obj)
		if err != nil || found != tt.found || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Get(%s) = %v, %v, %v; want %v, %v", tt.path, got, found, err, tt.want, tt.found)
		}
	}
}

func TestPathErrorsThroughNonContainers(t *testing.T) {
	for path, want := range map[string]string{
		"spec.host.x":         `spec.host is a string, not an object or a list, so it has no field "x"`,
		"spec.ports.name":     `spec.ports is a list, but "name" is not a list index`,
		"spec.ports.0.port.x": `spec.ports.0.port is a number`,
	} {
		p := mustPath(t, path)
		if _, _, err := p.Get(pathTestObject()); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Get(%s) error = %v, want %q", path, err, want)
		}
		if err := p.Set(pathTestObject(), "v"); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Set(%s) error = %v, want %q", path, err, want)
		}
		if err := p.Delete(pathTestObject()); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Delete(%s) error = %v, want %q", path, err, want)
		}
	}
}

func TestPathSet(t *testing.T) {
	obj := pathTestObject()
	for path, v := range map[string]any{
		"spec.host":                      "db.example.com",
		"spec.new.deep.field":            int64(1),
		"spec.null.created":              true,
		"spec.ports.0.name":              "postgres",
		"spec.ports.1":                   "replaced",
		"spec.ports.2.created":           "from null",
		`metadata.labels.bindery\.dev/x`: "y",
	} {
		p := mustPath(t, path)
		if err := p.Set(obj, v); err != nil {
			t.Fatalf("Set(%s): %v", path, err)
		}
		got, found, err := p.Get(obj)
		if err != nil || !found || !reflect.DeepEqual(got, v) {
			t.Errorf("after Set(%s, %v): Get = %v, %v, %v", path, v, got, found, err)
		}
	}
	if got := obj["metadata"].(map[string]any)["labels"].(map[string]any)["bindery.dev/x"]; got != "y" {
		t.Errorf("escaped key not set literally: %v", obj["metadata"])
	}

	for path, want := range map[string]string{
		"spec.ports.3":       "index 3 is out of range, the list has 3 items",
		"spec.absent.0.name": "spec.absent is absent, so its index 0 cannot be set",
	} {
		if err := mustPath(t, path).Set(obj, "x"); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Set(%s) error = %v, want %q", path, err, want)
		}
	}
	if err := mustPath(t, "a").Set(nil, "x"); err == nil {
		t.Error("Set on a nil object succeeded")
	}
	if err := (Path{}).Set(obj, "x"); err == nil {
		t.Error("Set with the zero Path succeeded")
	}
}

func TestPathDelete(t *testing.T) {
	obj := pathTestObject()
	ports := obj["spec"].(map[string]any)["ports"].([]any)
	for _, path := range []string{
		"spec.host",
		"spec.ports.1", // list element: later ones move up
		"spec.ports.0.port",
		"spec.missing.x", // absent: no-op
		"spec.ports.9",   // out of range: no-op
		"spec.null.x",    // through null: no-op
		`metadata.annotations.example\.com/owner`,
	} {
		if err := mustPath(t, path).Delete(obj); err != nil {
			t.Errorf("Delete(%s): %v", path, err)
		}
	}
	want := map[string]any{
		"metadata": map[string]any{
			"annotations": map[string]any{},
			"labels":      map[string]any{"0": "numeric key"},
		},
		"spec": map[string]any{
			"null":  nil,
			"ports": []any{map[string]any{"name": "pg"}, nil},
		},
	}
	if !reflect.DeepEqual(obj, want) {
		t.Errorf("after deletes: %#v\nwant %#v", obj, want)
	}
	if ports[1] != "plain" {
		t.Error("deleting a list element changed the original slice's backing array")
	}
}
