package urlrewrite

import (
	"strings"
	"testing"
)

func TestRewrite(t *testing.T) {
	rules, err := Parse("--endpoint-url-rewrite", []string{
		"https://shard-1.kcp.svc:6443=https://127.0.0.1:7443",
		"https://root.kcp.svc:6443/=https://proxy.example.com/root/",
	})
	if err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string]string{
		"https://shard-1.kcp.svc:6443/services/apiexport/abc/dbs": "https://127.0.0.1:7443/services/apiexport/abc/dbs",
		"https://shard-1.kcp.svc:6443":                            "https://127.0.0.1:7443",
		// A longer port or host is another server, not a match.
		"https://shard-1.kcp.svc:64430/services":     "https://shard-1.kcp.svc:64430/services",
		"https://root.kcp.svc:6443/services/x":       "https://proxy.example.com/root/services/x",
		"https://other.kcp.svc:6443/services/apiexp": "https://other.kcp.svc:6443/services/apiexp",
	} {
		if got := rules.Rewrite(in); got != want {
			t.Errorf("Rewrite(%s) = %s, want %s", in, got, want)
		}
	}
	if Rules(nil).Func() != nil {
		t.Error("no rules should give no function")
	}
}

func TestParseNamesTheFlagAndTheForm(t *testing.T) {
	for _, bad := range []string{"https://a:1", "shard-1:6443=https://b:2", "https://a:1=ftp://b"} {
		_, err := Parse("--endpoint-url-rewrite", []string{bad})
		if err == nil || !strings.Contains(err.Error(), "--endpoint-url-rewrite") {
			t.Errorf("Parse(%q) = %v, want an error naming the flag", bad, err)
		}
	}
}
