package templating

import (
	"regexp"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation"
)

var hexHash = regexp.MustCompile(`^[0-9a-f]{10}$`)

func TestShortHash(t *testing.T) {
	// sha256("a/b") = c14cddc033f64b9dea80ea675cf280a015e672516090a5626781153dc68fea11
	if got := ShortHash("a", "b"); got != "c14cddc033" {
		t.Errorf("ShortHash(a, b) = %q", got)
	}
	if !hexHash.MatchString(ShortHash()) {
		t.Errorf("ShortHash() = %q, want 10 hex characters", ShortHash())
	}
	if ShortHash("a", "b") == ShortHash("b", "a") {
		t.Error("ShortHash ignores order")
	}
}

func TestDNSLabelReadable(t *testing.T) {
	for _, tt := range []struct {
		parts []string
		want  string
	}{
		{[]string{"default", "my-db"}, "default-my-db"},
		{[]string{"my-db"}, "my-db"},
		{[]string{"a", "b", "c-d-e"}, "a-b-c-d-e"},
		{[]string{strings.Repeat("a", 63)}, strings.Repeat("a", 63)},
	} {
		if got := DNSLabel(tt.parts...); got != tt.want {
			t.Errorf("DNSLabel(%q) = %q, want %q", tt.parts, got, tt.want)
		}
	}
}

func TestDNSLabelHashed(t *testing.T) {
	for _, tt := range []struct {
		parts      []string
		wantPrefix string
	}{
		{[]string{"kube-system", "db"}, "kube-system-db-"}, // "-" before the last part
		{[]string{"Default", "DB"}, "default-db-"},         // case folded
		{[]string{"ns", "a.b_c"}, "ns-a-b-c-"},             // invalid characters
		{[]string{"", "db"}, "db-"},                        // empty part
		{[]string{"-x-"}, "x-"},                            // trimmed
		{[]string{strings.Repeat("a", 64)}, strings.Repeat("a", 52) + "-"},
		{[]string{strings.Repeat("a", 51) + "-", "b"}, strings.Repeat("a", 51) + "-"}, // trailing "-" of the cut trimmed
	} {
		got := DNSLabel(tt.parts...)
		if !strings.HasPrefix(got, tt.wantPrefix) || !hexHash.MatchString(strings.TrimPrefix(got, tt.wantPrefix)) {
			t.Errorf("DNSLabel(%q) = %q, want %q followed by a hash", tt.parts, got, tt.wantPrefix)
		}
	}
	// Nothing readable left: the hash alone.
	for _, parts := range [][]string{nil, {""}, {"!!!", "---"}, {"日本"}} {
		if got := DNSLabel(parts...); !hexHash.MatchString(got) {
			t.Errorf("DNSLabel(%q) = %q, want a bare hash", parts, got)
		}
	}
}

func TestDNSLabelValid(t *testing.T) {
	inputs := [][]string{
		nil,
		{""},
		{"", ""},
		{"-"},
		{strings.Repeat("x", 300)},
		{strings.Repeat("-", 70), "a"},
		{strings.Repeat("a", 52), "-b"},
		{strings.Repeat("a", 51), "..", "b"},
		{"UPPER", "Case", "Ünïcödé", "emoji🙂"},
		{"root:org:team", "default", "my-db"},
		{strings.Repeat("ab-", 30), strings.Repeat("Z_", 40)},
		{"0", "9"},
	}
	for _, parts := range inputs {
		got := DNSLabel(parts...)
		if errs := validation.IsDNS1123Label(got); len(errs) > 0 {
			t.Errorf("DNSLabel(%q) = %q is not a DNS label: %v", parts, got, errs)
		}
		if again := DNSLabel(parts...); again != got {
			t.Errorf("DNSLabel(%q) is not deterministic: %q then %q", parts, got, again)
		}
	}
}

func TestDNSLabelDistinct(t *testing.T) {
	long := strings.Repeat("a", 60)
	pairs := [][2][]string{
		{{"a-b", "c"}, {"a", "b-c"}},
		{{"a/b", "c"}, {"a", "b/c"}}, // ShortHash would confuse these; DNSLabel must not
		{{"", "a-b"}, {"a", "b"}},
		{{"a", ""}, {"", "a"}},
		{{"A", "b"}, {"a", "b"}},
		{{"a.b", "c"}, {"a_b", "c"}},
		{{"ns", long + "x"}, {"ns", long + "y"}}, // same shortened prefix
		{{long + "-1", "x"}, {long + "-2", "x"}},
	}
	for _, p := range pairs {
		a, b := DNSLabel(p[0]...), DNSLabel(p[1]...)
		if a == b {
			t.Errorf("DNSLabel(%q) and DNSLabel(%q) are both %q", p[0], p[1], a)
		}
	}
}
