package konnector

import (
	"encoding/base64"
	"fmt"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// jwt builds an unsigned token with the given claims; the konnector never verifies its own.
func jwt(claims string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"RS256"}`)) + "." + enc([]byte(claims)) + ".signature"
}

func jwtFor(issued, expires time.Time) string {
	return jwt(fmt.Sprintf(`{"iat":%d,"exp":%d,"sub":"system:serviceaccount:bindery-c:konnector"}`, issued.Unix(), expires.Unix()))
}

func kubeconfig(t *testing.T, server string, ca []byte, tokenValue string) []byte {
	t.Helper()
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["p"] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: ca}
	cfg.AuthInfos["p"] = &clientcmdapi.AuthInfo{Token: tokenValue}
	cfg.Contexts["p"] = &clientcmdapi.Context{Cluster: "p", AuthInfo: "p", Namespace: "bindery-c"}
	cfg.CurrentContext = "p"
	data, err := clientcmd.Write(*cfg)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestTokenOfReadsTheJWTTimes(t *testing.T) {
	issued := time.Unix(1_700_000_000, 0)
	got := tokenOf(jwtFor(issued, issued.Add(time.Hour)))
	if !got.issued.Equal(issued) || !got.expires.Equal(issued.Add(time.Hour)) {
		t.Errorf("issued %s, expires %s; want %s and an hour later", got.issued, got.expires, issued)
	}
	for _, value := range []string{"opaque-token", "a.b.c", jwt(`{"sub":"x"}`), jwt(`{"exp":"soon"}`)} {
		if got := tokenOf(value); !got.expires.IsZero() || got.value != value {
			t.Errorf("%q: expires %s, value %q; want no expiry and the value kept", value, got.expires, got.value)
		}
	}
}

func TestRenewalTime(t *testing.T) {
	issued := time.Unix(1_700_000_000, 0)
	for _, tc := range []struct {
		name            string
		issued, expires time.Time
		fallback        time.Time
		want            time.Duration // after issued
	}{
		// an hour: a third left and 20 minutes left are the same moment
		{"1h token", issued, issued.Add(time.Hour), time.Time{}, 40 * time.Minute},
		// six hours: 20 minutes left comes after a third left, so a third left wins
		{"6h token", issued, issued.Add(6 * time.Hour), time.Time{}, 4 * time.Hour},
		// 30 minutes: 20 minutes left comes first, at a third of its life: half of it is the earliest
		{"30m token", issued, issued.Add(30 * time.Minute), time.Time{}, 15 * time.Minute},
		// 10 minutes: both rules say now, but never before half of its life
		{"10m token", issued, issued.Add(10 * time.Minute), time.Time{}, 5 * time.Minute},
		// no iat: the time the konnector got it stands in
		{"no iat", time.Time{}, issued.Add(time.Hour), issued, 40 * time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			due, ok := token{issued: tc.issued, expires: tc.expires}.renewalTime(tc.fallback)
			if !ok {
				t.Fatal("no renewal time")
			}
			if got := due.Sub(issued); got != tc.want {
				t.Errorf("renewal %s after issue, want %s", got, tc.want)
			}
		})
	}
	if _, ok := (token{value: "opaque"}).renewalTime(issued); ok {
		t.Error("a token without exp has a renewal time; nothing says it expires")
	}
}

func TestNewerTokenFromTheSecret(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	inUse := token{value: "a", expires: now.Add(time.Hour)}
	for _, tc := range []struct {
		name   string
		secret token
		want   bool
	}{
		{"same token", inUse, false},
		{"a new bind", token{value: "b", expires: now.Add(2 * time.Hour)}, true},
		{"a renewal not written yet", token{value: "old", expires: now.Add(-time.Minute)}, false},
		{"an opaque token by hand", token{value: "opaque"}, true},
	} {
		if got := tc.secret.newer(inUse); got != tc.want {
			t.Errorf("%s: newer = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestParseCredential(t *testing.T) {
	now := time.Now()
	value := jwtFor(now, now.Add(time.Hour))
	cred, err := parseCredential(kubeconfig(t, "https://provider.example:6443", []byte("ca"), value))
	if err != nil {
		t.Fatal(err)
	}
	if cred.token.value != value || cred.config.BearerToken != "" || cred.config.Host != "https://provider.example:6443" {
		t.Errorf("token %q, config token %q, host %q: want the token apart from the config", cred.token.value, cred.config.BearerToken, cred.config.Host)
	}
	same, _ := parseCredential(kubeconfig(t, "https://provider.example:6443", []byte("ca"), "another-token"))
	otherCA, _ := parseCredential(kubeconfig(t, "https://provider.example:6443", []byte("other"), value))
	otherServer, _ := parseCredential(kubeconfig(t, "https://elsewhere.example:6443", []byte("ca"), value))
	if same.endpoint() != cred.endpoint() {
		t.Error("a new token changed the endpoint: renewal would reconnect")
	}
	if otherCA.endpoint() == cred.endpoint() || otherServer.endpoint() == cred.endpoint() {
		t.Error("another CA or server has the same endpoint: the connection would not be replaced")
	}
	if _, err := parseCredential(kubeconfig(t, "https://p", nil, "")); err == nil {
		t.Error("a kubeconfig without a token parsed")
	}
	if _, err := parseCredential([]byte("not: [yaml")); err == nil {
		t.Error("garbage parsed")
	}
}

func TestWithTokenReplacesOnlyTheToken(t *testing.T) {
	before := kubeconfig(t, "https://provider.example:6443", []byte("ca"), "old")
	after, err := withToken(before, "new")
	if err != nil {
		t.Fatal(err)
	}
	cred, err := parseCredential(after)
	if err != nil {
		t.Fatal(err)
	}
	old, _ := parseCredential(before)
	if cred.token.value != "new" || cred.endpoint() != old.endpoint() {
		t.Errorf("token %q, endpoint changed %v; want the new token at the same endpoint", cred.token.value, cred.endpoint() != old.endpoint())
	}
	cfg, _ := clientcmd.Load(after)
	if cfg.Contexts["p"].Namespace != "bindery-c" {
		t.Errorf("the context's namespace was lost: %+v", cfg.Contexts["p"])
	}
}
