package seal

import (
	"errors"
	"strings"
	"testing"
	"time"
)

type session struct {
	User   string   `json:"user"`
	Groups []string `json:"groups"`
}

func newSealer(t *testing.T) *Sealer {
	t.Helper()
	s, err := New(NewKey())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRoundTrip(t *testing.T) {
	s := newSealer(t)
	sealed, err := s.Seal("session", session{User: "alice", Groups: []string{"dev"}}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(sealed, "alice") {
		t.Errorf("the sealed value shows its content: %s", sealed)
	}
	var got session
	expires, err := s.Open("session", sealed, &got)
	if err != nil {
		t.Fatal(err)
	}
	if got.User != "alice" || len(got.Groups) != 1 || got.Groups[0] != "dev" {
		t.Errorf("opened %+v", got)
	}
	if d := time.Until(expires); d < 59*time.Minute || d > time.Hour+time.Second {
		t.Errorf("expires in %s, want about 1h", d)
	}
}

func TestRefusals(t *testing.T) {
	s := newSealer(t)
	sealed, err := s.Seal("login", session{User: "alice"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	other := newSealer(t)
	flipped := []byte(sealed)
	flipped[len(flipped)/2] ^= 1
	for name, open := range map[string]func(*session) error{
		"another purpose": func(v *session) error { _, err := s.Open("session", sealed, v); return err },
		"another key":     func(v *session) error { _, err := other.Open("login", sealed, v); return err },
		"tampered":        func(v *session) error { _, err := s.Open("login", string(flipped), v); return err },
		"not base64":      func(v *session) error { _, err := s.Open("login", "!!!", v); return err },
		"too short":       func(v *session) error { _, err := s.Open("login", "AAAA", v); return err },
	} {
		var v session
		if err := open(&v); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
		if v.User != "" {
			t.Errorf("%s: the value was decoded anyway: %+v", name, v)
		}
	}
}

func TestExpired(t *testing.T) {
	s := newSealer(t)
	sealed, err := s.Seal("code", session{User: "alice"}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	s.now = func() time.Time { return time.Now().Add(2 * time.Minute) }
	var v session
	if _, err := s.Open("code", sealed, &v); !errors.Is(err, ErrExpired) {
		t.Fatalf("got %v, want ErrExpired", err)
	}
	if v.User != "" {
		t.Errorf("an expired value was decoded: %+v", v)
	}
}

func TestKeySize(t *testing.T) {
	if _, err := New([]byte("short")); err == nil || !strings.Contains(err.Error(), "want 32") {
		t.Fatalf("a short key: %v", err)
	}
}
