package backend

import (
	"reflect"
	"strings"
	"testing"
)

func TestClaimMapping(t *testing.T) {
	m := ClaimMapping{UsernameClaim: "email", UsernamePrefix: "oidc:", GroupsClaim: "groups", GroupsPrefix: "oidc:"}
	user, err := m.User("https://issuer", map[string]any{
		"sub": "123", "email": "alice@example.com", "email_verified": true, "name": "Alice",
		"groups": []any{"dev", "ops"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if user.Username != "oidc:alice@example.com" || user.Subject != "123" || user.Issuer != "https://issuer" || user.DisplayName != "Alice" {
		t.Errorf("user %+v", user)
	}
	if !reflect.DeepEqual(user.Groups, []string{"oidc:dev", "oidc:ops"}) {
		t.Errorf("groups %v", user.Groups)
	}

	single, err := m.User("i", map[string]any{"sub": "1", "email": "b@example.com", "groups": "dev"})
	if err != nil || !reflect.DeepEqual(single.Groups, []string{"oidc:dev"}) || single.DisplayName != "b@example.com" {
		t.Errorf("a string groups claim: %+v, %v", single, err)
	}
}

func TestClaimMappingRefusals(t *testing.T) {
	m := ClaimMapping{UsernameClaim: "email", GroupsClaim: "groups"}
	for name, tc := range map[string]struct {
		claims map[string]any
		want   string
	}{
		"no sub":           {map[string]any{"email": "a@b"}, "no sub claim"},
		"no username":      {map[string]any{"sub": "1"}, `no "email" claim`},
		"unverified email": {map[string]any{"sub": "1", "email": "a@b", "email_verified": false}, "not verified"},
		"groups of ints":   {map[string]any{"sub": "1", "email": "a@b", "groups": []any{1}}, "want strings"},
		"groups a map":     {map[string]any{"sub": "1", "email": "a@b", "groups": map[string]any{}}, "list of strings"},
	} {
		if _, err := m.User("i", tc.claims); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error with %q", name, err, tc.want)
		}
	}
}

func TestLoopbackRedirect(t *testing.T) {
	for _, ok := range []string{"http://127.0.0.1:8000/callback", "http://[::1]:1234/cb", "http://localhost:9/x", "http://127.0.0.2/"} {
		if _, err := checkLoopbackRedirect(ok); err != nil {
			t.Errorf("%s refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"https://127.0.0.1/cb", "http://example.com/cb", "http://10.0.0.1/cb", "http://127.0.0.1.evil.com/",
		"http://user@127.0.0.1/", "javascript:alert(1)", "http://127.0.0.1/#frag", "%zz"} {
		if _, err := checkLoopbackRedirect(bad); err == nil {
			t.Errorf("%s accepted", bad)
		} else if !strings.Contains(err.Error(), "redirect_uri") {
			t.Errorf("%s: the error does not name redirect_uri: %v", bad, err)
		}
	}
}
