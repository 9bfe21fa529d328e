package kubectlbindery

import (
	"bytes"
	"context"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/bindery-dev/bindery/pkg/bindclient"
	"github.com/bindery-dev/bindery/pkg/bindprotocol"
)

// run executes kubectl bindery with args and returns what it printed and its error.
func run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := NewCommand()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

// useConfigDir gives the test a config directory of its own, where sessions are stored.
func useConfigDir(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", dir)
	t.Setenv("HOME", dir)
}

func TestLoginRefusesBadArguments(t *testing.T) {
	notPEM := filepath.Join(t.TempDir(), "ca.crt")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"login"}, "login takes the backend's URL and nothing else, e.g. kubectl bindery login https://"},
		{[]string{"login", "https://a.example.com", "https://b.example.com"}, "takes the backend's URL and nothing else"},
		{[]string{"login", "bindery.example.com"}, "give an https URL such as https://bindery.example.com"},
		{[]string{"login", "http://bindery.example.com"}, "plain http is allowed only for a loopback address"},
		{[]string{"login", "--timeout", "0s", "https://bindery.example.com"}, "--timeout 0s: give a positive duration"},
		{[]string{"login", "--certificate-authority", notPEM, "https://bindery.example.com"}, "--certificate-authority: the CA bundle " + notPEM + " holds no PEM certificate"},
		{[]string{"whoami"}, "whoami takes the backend's URL and nothing else"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			_, err := run(t, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one that says %q", err, tc.want)
			}
		})
	}
}

func TestLoginFailedSaysWhichFlagHelps(t *testing.T) {
	const backend = "https://bindery.example.com"
	timeout := loginFailed(backend, fmt.Errorf("no sign-in came back: %w", context.DeadlineExceeded))
	if !strings.Contains(timeout.Error(), "wait longer with --timeout") {
		t.Errorf("timeout: %v, want --timeout suggested", timeout)
	}
	unknownCA := loginFailed(backend, fmt.Errorf("exchanging: %w", x509.UnknownAuthorityError{}))
	if !strings.Contains(unknownCA.Error(), "--certificate-authority <file>") {
		t.Errorf("unknown CA: %v, want --certificate-authority suggested", unknownCA)
	}
	other := loginFailed(backend, &bindclient.LoginError{Code: "access_denied", Description: "not for you"})
	if want := "signing in to " + backend + ": the sign-in failed: not for you (access_denied)"; other.Error() != want {
		t.Errorf("backend refusal: %q, want %q", other, want)
	}
}

func TestSignedInMessage(t *testing.T) {
	expiry := time.Date(2030, 1, 2, 15, 4, 0, 0, time.UTC)
	session := &bindprotocol.Session{ExpiresAt: expiry, User: bindprotocol.User{Username: "oidc:jane", DisplayName: "Jane Doe"}}
	want := "Signed in to https://bindery.example.com as Jane Doe (oidc:jane); the session is valid until " +
		expiry.Local().Format(timeLayout) + ". Next: kubectl bindery bind https://bindery.example.com"
	if got := signedInMessage("https://bindery.example.com", session); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	if got := userName(bindprotocol.User{Username: "oidc:jane"}); got != "oidc:jane" {
		t.Errorf("without a display name: %q, want the username alone", got)
	}
}

func TestBrowserCommand(t *testing.T) {
	const u = "https://bindery.example.com/login?state=x"
	for _, tc := range []struct {
		goos, browser string
		want          []string
	}{
		{"linux", "", []string{"xdg-open", u}},
		{"darwin", "", []string{"open", u}},
		{"linux", "firefox", []string{"firefox", u}},
		{"linux", "firefox --new-window:chromium", []string{"firefox", "--new-window", u}},
		{"linux", "w3m -o url=%s", []string{"w3m", "-o", "url=" + u}},
		{"linux", " : ", []string{"xdg-open", u}},
	} {
		if got := browserCommand(tc.goos, tc.browser, u); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("browserCommand(%q, %q) = %q, want %q", tc.goos, tc.browser, got, tc.want)
		}
	}
}

func TestWhoAmI(t *testing.T) {
	useConfigDir(t)
	const backend = "https://bindery.example.com"
	if _, err := run(t, "whoami", backend+"/"); err == nil || err.Error() != "not signed in to "+backend+": run kubectl bindery login "+backend {
		t.Errorf("before login: %v, want the advice to log in", err)
	}

	user := bindprotocol.User{Issuer: "https://issuer.example.com", Subject: "123", Username: "oidc:jane", DisplayName: "Jane Doe", Groups: []string{"dev", "ops"}}
	if err := bindclient.SaveSession(backend, &bindprotocol.Session{Token: "t", ExpiresAt: time.Now().Add(time.Hour), User: user}); err != nil {
		t.Fatal(err)
	}
	out, err := run(t, "whoami", backend)
	if err != nil {
		t.Fatalf("whoami: %v", err)
	}
	for _, want := range []string{"User:     Jane Doe (oidc:jane)", "Groups:   dev, ops", "Issuer:   https://issuer.example.com (subject 123)", "Session:  valid until "} {
		if !strings.Contains(out, want) {
			t.Errorf("whoami printed\n%s\nwithout %q", out, want)
		}
	}

	expiry := time.Now().Add(-time.Minute)
	if err := bindclient.SaveSession(backend, &bindprotocol.Session{Token: "t", ExpiresAt: expiry, User: user}); err != nil {
		t.Fatal(err)
	}
	want := "your session for " + backend + " (as Jane Doe (oidc:jane)) ended at " + expiry.Local().Format(timeLayout) + ": run kubectl bindery login " + backend
	if _, err := run(t, "whoami", backend); err == nil || err.Error() != want {
		t.Errorf("after expiry: %v\nwant %q", err, want)
	}
}

func TestDescribeSessionSaysHowLongIsLeft(t *testing.T) {
	now := time.Date(2030, 1, 2, 12, 0, 0, 0, time.UTC)
	session := &bindprotocol.Session{ExpiresAt: now.Add(90*time.Minute + 20*time.Second), User: bindprotocol.User{Username: "jane"}}
	var out bytes.Buffer
	if err := describeSession(&out, "https://bindery.example.com", session, now); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "(1h30m0s left)") || !strings.Contains(out.String(), "Groups:   <none>") {
		t.Errorf("describeSession printed\n%s\nwant 1h30m0s left and no groups", out.String())
	}
}
