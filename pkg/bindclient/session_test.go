package bindclient

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bindery-dev/bindery/pkg/bindprotocol"
)

// useConfigDir points os.UserConfigDir at a fresh directory ($XDG_CONFIG_HOME on Linux, $HOME
// elsewhere) and returns it.
func useConfigDir(t *testing.T) string {
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", dir)
	t.Setenv("HOME", dir)
	config, err := os.UserConfigDir()
	if err != nil {
		t.Fatal(err)
	}
	return config
}

func TestSessionStoreRoundTrip(t *testing.T) {
	config := useConfigDir(t)
	saved := &bindprotocol.Session{
		Token:     "session-token",
		ExpiresAt: time.Now().Add(time.Hour).Round(time.Second),
		User:      bindprotocol.User{Issuer: "https://issuer", Subject: "123", Username: "oidc:jane", Groups: []string{"dev"}},
		Service:   "databases",
	}
	if err := SaveSession("https://bindery.example.com", saved); err != nil {
		t.Fatalf("SaveSession: %v", err)
	}
	// The same backend, typed differently, finds the same session.
	loaded, err := LoadSession("HTTPS://Bindery.Example.com:443/")
	if err != nil {
		t.Fatalf("LoadSession: %v", err)
	}
	if loaded.Token != saved.Token || !loaded.ExpiresAt.Equal(saved.ExpiresAt) || loaded.User.Username != "oidc:jane" ||
		len(loaded.User.Groups) != 1 || loaded.Service != "databases" {
		t.Errorf("loaded %+v, want %+v", loaded, saved)
	}

	path, err := SessionPath("https://bindery.example.com")
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(config, "bindery", "sessions"); filepath.Dir(path) != want {
		t.Errorf("session file %s, want it in %s", path, want)
	}
	assertMode(t, path, 0o600)
	assertMode(t, filepath.Dir(path), 0o700|os.ModeDir)
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Errorf("the sessions directory holds %d entries, want the session file alone", len(entries))
	}
}

func assertMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode() != want {
		t.Errorf("%s has mode %v, want %v", path, info.Mode(), want)
	}
}

func TestSaveSessionTightensTheDirectory(t *testing.T) {
	config := useConfigDir(t)
	dir := filepath.Join(config, "bindery", "sessions")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := SaveSession("https://bindery.example.com", &bindprotocol.Session{Token: "t", ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	assertMode(t, dir, 0o700|os.ModeDir)
}

func TestLoadSessionReportsAnExpiredSession(t *testing.T) {
	useConfigDir(t)
	expiry := time.Now().Add(-time.Minute)
	if err := SaveSession("https://bindery.example.com", &bindprotocol.Session{Token: "t", ExpiresAt: expiry, User: bindprotocol.User{Username: "jane"}}); err != nil {
		t.Fatal(err)
	}
	session, err := LoadSession("https://bindery.example.com")
	if !errors.Is(err, ErrSessionExpired) {
		t.Fatalf("LoadSession error %v, want ErrSessionExpired", err)
	}
	if session == nil || session.User.Username != "jane" {
		t.Errorf("session %+v, want the expired session alongside the error", session)
	}
	// A session is still valid until its last instant.
	if _, err := loadSession("https://bindery.example.com", expiry.Add(-time.Second)); err != nil {
		t.Errorf("a second before expiry: %v", err)
	}
}

func TestLoadSessionWithoutSession(t *testing.T) {
	useConfigDir(t)
	if _, err := LoadSession("https://bindery.example.com"); !errors.Is(err, ErrNoSession) {
		t.Errorf("LoadSession error %v, want ErrNoSession", err)
	}
}

func TestLoadSessionReportsADamagedFile(t *testing.T) {
	useConfigDir(t)
	path, err := SessionPath("https://bindery.example.com")
	if err != nil {
		t.Fatal(err)
	}
	if err := writePrivateFile(path, []byte("{not json")); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadSession("https://bindery.example.com"); err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Errorf("LoadSession error %v, want the damaged file named", err)
	}
}

func TestSessionFileNames(t *testing.T) {
	name := sessionFileName("https://bindery.example.com:8443/team")
	if !strings.HasPrefix(name, "bindery.example.com_8443_team-") || !strings.HasSuffix(name, ".json") {
		t.Errorf("file name %q, want the host, port and path readable", name)
	}
	// Backends whose readable parts agree still get files of their own.
	for _, pair := range [][2]string{
		{"https://bindery.example.com", "http://bindery.example.com"},
		{"https://bindery.example.com/a_b", "https://bindery.example.com/a/b"},
	} {
		if sessionFileName(pair[0]) == sessionFileName(pair[1]) {
			t.Errorf("%s and %s share the file %s", pair[0], pair[1], sessionFileName(pair[0]))
		}
	}
}
