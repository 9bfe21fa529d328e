package bindclient

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/bindery-dev/bindery/pkg/bindprotocol"
)

var (
	// ErrNoSession is returned by LoadSession when no session is stored for the backend.
	ErrNoSession = errors.New("not signed in")
	// ErrSessionExpired is returned by LoadSession when the stored session has expired.
	ErrSessionExpired = errors.New("the session has expired")
)

// storedSession is the content of a session file. It names its backend so that a file read by
// hand, or listed later, says whom the token is for.
type storedSession struct {
	Backend string               `json:"backend"`
	Session bindprotocol.Session `json:"session"`
}

// SessionDir is where sessions are stored: <os.UserConfigDir()>/bindery/sessions
// (~/.config/bindery/sessions on Linux unless $XDG_CONFIG_HOME says otherwise).
func SessionDir() (string, error) {
	config, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("finding the directory for sessions: %w", err)
	}
	return filepath.Join(config, "bindery", "sessions"), nil
}

// SessionPath is the file that holds the session for backendURL.
func SessionPath(backendURL string) (string, error) {
	backend, err := NormalizeBackendURL(backendURL)
	if err != nil {
		return "", err
	}
	dir, err := SessionDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, sessionFileName(backend)), nil
}

// sessionFileName derives a file name from a normalized backend URL: its host and path in
// characters safe for any file system, so a person can tell the files apart, and a hash of the
// whole URL, so that URLs which read alike (scheme, "/" against "_") never share a file.
func sessionFileName(backend string) string {
	readable := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-':
			return r
		}
		return '_'
	}, strings.TrimPrefix(strings.TrimPrefix(backend, "https://"), "http://"))
	sum := sha256.Sum256([]byte(backend))
	return readable + "-" + hex.EncodeToString(sum[:6]) + ".json"
}

// SaveSession stores session for backendURL in a file only the user may read (0600, in a
// directory only the user may enter), replacing the one stored before.
func SaveSession(backendURL string, session *bindprotocol.Session) error {
	backend, err := NormalizeBackendURL(backendURL)
	if err != nil {
		return err
	}
	path, err := SessionPath(backend)
	if err != nil {
		return err
	}
	data, err := json.MarshalIndent(storedSession{Backend: backend, Session: *session}, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding the session for %s: %w", backend, err)
	}
	if err := writePrivateFile(path, data); err != nil {
		return fmt.Errorf("storing the session for %s: %w", backend, err)
	}
	return nil
}

// writePrivateFile replaces path with data through a temporary file in the same directory, so a
// reader never sees half a session; os.CreateTemp makes the file 0600.
func writePrivateFile(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	// MkdirAll leaves an existing directory as it is; the sessions directory is ours.
	if err := os.Chmod(dir, 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".session-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // a no-op after the rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// LoadSession returns the session stored for backendURL. Without one the error is ErrNoSession;
// when it has expired the error is ErrSessionExpired and the session is returned as well, so the
// caller can say who was signed in and since when it is gone. Test both with errors.Is.
func LoadSession(backendURL string) (*bindprotocol.Session, error) {
	return loadSession(backendURL, time.Now())
}

func loadSession(backendURL string, now time.Time) (*bindprotocol.Session, error) {
	path, err := SessionPath(backendURL)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w to %s (no session in %s)", ErrNoSession, backendURL, filepath.Dir(path))
	}
	if err != nil {
		return nil, fmt.Errorf("reading the session for %s: %w", backendURL, err)
	}
	stored := &storedSession{}
	if err := json.Unmarshal(data, stored); err != nil {
		return nil, fmt.Errorf("the session file %s is damaged (sign in again to replace it): %w", path, err)
	}
	if stored.Session.Token == "" {
		return nil, fmt.Errorf("the session file %s holds no token (sign in again to replace it)", path)
	}
	session := &stored.Session
	if !now.Before(session.ExpiresAt) {
		return session, fmt.Errorf("%w: the session for %s ended at %s", ErrSessionExpired, backendURL, session.ExpiresAt.Local().Format(time.RFC1123))
	}
	return session, nil
}
