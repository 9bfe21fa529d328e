package mutation

import (
	"math"
	"reflect"
	"strings"
	"testing"
)

func TestCELResultConversion(t *testing.T) {
	for _, tt := range []struct {
		expr string
		want any
	}{
		{`self.spec.replicas + 1`, int64(4)},
		{`"x-" + clusterName`, "x-2x8cxnqmfw5lmjcs"},
		{`1.5`, 1.5},
		{`true`, true},
		{`null`, nil},
		{`self.spec.secret`, map[string]any{"name": "creds"}},
		{`{"a": [1, "two", {"three": 3.0}], "b": null}`, map[string]any{"a": []any{int64(1), "two", map[string]any{"three": 3.0}}, "b": nil}},
		{`self.spec.ports.map(p, p.port)`, []any{int64(5432)}},
		{`[]`, []any{}},
		{`{}`, map[string]any{}},
		{`self.metadata.name.split("-")`, []any{"my", "db"}},
		{`optional.of("v")`, "v"},
	} {
		prg, err := compileCEL(tt.expr)
		if err != nil {
			t.Errorf("compile %s: %v", tt.expr, err)
			continue
		}
		got, err := evalCEL(prg, testObject(), testData.ClusterName)
		if err != nil {
			t.Errorf("eval %s: %v", tt.expr, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s = %#v, want %#v", tt.expr, got, tt.want)
		}
	}
}

func TestCELResultConversionErrors(t *testing.T) {
	for expr, want := range map[string]string{
		`{1: "a"}`:                    "map key 1 is a int, but object keys must be strings",
		`[{"a": {2: 1}}]`:             `index 0: key "a": map key 2`,
		`18446744073709551615u`:       "does not fit",
		`double("NaN")`:               "cannot be represented in JSON",
		`optional.none()`:             "empty optional",
		`int`:                         "cannot be stored",
		`self.spec.absent`:            "no such key",
		`self.spec.ports.map(p, p.x)`: "no such key",
	} {
		prg, err := compileCEL(expr)
		if err != nil {
			t.Errorf("compile %s: %v", expr, err)
			continue
		}
		_, err = evalCEL(prg, testObject(), "c")
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error = %v, want it to contain %q", expr, err, want)
		}
	}
}

func TestCELCostLimit(t *testing.T) {
	prg, err := compileCEL(`self.items.map(a, self.items.map(b, self.items.map(c, a + b + c))).size()`)
	if err != nil {
		t.Fatal(err)
	}
	items := make([]any, 200)
	for i := range items {
		items[i] = int64(i)
	}
	_, err = evalCEL(prg, map[string]any{"items": items}, "c")
	if err == nil || !strings.Contains(err.Error(), "cost limit") {
		t.Errorf("error = %v, want the cost limit to stop the evaluation", err)
	}
}

func TestCELInfinity(t *testing.T) {
	// Kept apart from the table: a double overflowing to +Inf is a runtime value, not a literal.
	prg, err := compileCEL(`self.big * self.big`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := evalCEL(prg, map[string]any{"big": math.MaxFloat64}, "c"); err == nil {
		t.Error("+Inf was accepted")
	}
}
