package devoidc

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseUsers(t *testing.T) {
	tests := []struct {
		spec string
		want []User
	}{
		{"alice:password1", []User{{Username: "alice", Password: "password1"}}},
		{"alice:password1,bob:password2", []User{{Username: "alice", Password: "password1"}, {Username: "bob", Password: "password2"}}},
		{"alice:pw:group1;group2, bob:pw2", []User{
			{Username: "alice", Password: "pw", Groups: []string{"group1", "group2"}},
			{Username: "bob", Password: "pw2"},
		}},
	}
	for _, tt := range tests {
		got, err := ParseUsers(tt.spec)
		if err != nil {
			t.Errorf("ParseUsers(%q): %v", tt.spec, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseUsers(%q) = %+v, want %+v", tt.spec, got, tt.want)
		}
	}
}

func TestParseUsersErrorsNameTheProblem(t *testing.T) {
	tests := map[string]string{
		"":                     "no users given",
		"alice":                `user entry 1 "alice": want username:password[:group1;group2], got 1 colon-separated fields`,
		"alice:pw,bob":         `user entry 2 "bob"`,
		"alice:":               `user 1 "alice": password is empty`,
		":pw":                  "user 1: username is empty",
		"alice:pw:g1:extra":    "got 4 colon-separated fields",
		"alice:pw:g1;;g2":      `empty group name in "g1;;g2"`,
		"alice:pw,alice:other": `user 2 "alice": username appears more than once`,
		"alice:pw,,bob:pw":     `user entry 2 ""`,
		"al ice:pw":            "username contains whitespace",
	}
	for spec, want := range tests {
		_, err := ParseUsers(spec)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseUsers(%q) error = %v, want one containing %q", spec, err, want)
		}
	}
}

func TestLoadUsers(t *testing.T) {
	want := []User{
		{Username: "alice", Password: "wonder:land", Email: "alice@example.org", Name: "Alice Liddell", Groups: []string{"admins"}},
		{Username: "bob", Password: "builder"},
	}
	files := map[string]string{
		"users.yaml": `
- username: alice
  password: "wonder:land"
  email: alice@example.org
  name: Alice Liddell
  groups: [admins]
- username: bob
  password: builder
`,
		"users.json": `[
  {"username": "alice", "password": "wonder:land", "email": "alice@example.org", "name": "Alice Liddell", "groups": ["admins"]},
  {"username": "bob", "password": "builder"}
]`,
	}
	for name, content := range files {
		got, err := LoadUsers(writeFile(t, name, content))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %+v, want %+v", name, got, want)
		}
	}
}

func TestLoadUsersErrorsNameTheProblem(t *testing.T) {
	tests := map[string]struct{ content, want string }{
		"unknown field":  {"- username: alice\n  password: pw\n  gropus: [admins]\n", `unknown field "gropus"`},
		"not a list":     {"username: alice\npassword: pw\n", "want a list of users"},
		"empty list":     {"[]\n", "no users"},
		"empty password": {"- username: alice\n", `user 1 "alice": password is empty`},
		"duplicate":      {`[{"username":"a","password":"x"},{"username":"a","password":"y"}]`, `user 2 "a": username appears more than once`},
		"empty group":    {`[{"username":"a","password":"x","groups":[""]}]`, `user 1 "a": empty group name`},
	}
	for name, tt := range tests {
		path := writeFile(t, "users.yaml", tt.content)
		_, err := LoadUsers(path)
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: error = %v, want one naming %s and containing %q", name, err, path, tt.want)
		}
	}

	missing := filepath.Join(t.TempDir(), "absent.yaml")
	if _, err := LoadUsers(missing); err == nil || !strings.Contains(err.Error(), "absent.yaml") {
		t.Errorf("missing file: error = %v, want one naming the file", err)
	}
}

func TestSubjectIsStableAndDistinct(t *testing.T) {
	if (User{Username: "alice"}).Subject() != (User{Username: "alice", Password: "other", Email: "x@y"}).Subject() {
		t.Error("the subject depends on more than the username")
	}
	if (User{Username: "alice"}).Subject() == (User{Username: "bob"}).Subject() {
		t.Error("two usernames share a subject")
	}
	if sub := (User{Username: "alice"}).Subject(); strings.Contains(sub, "alice") {
		t.Errorf("subject %q reveals the username", sub)
	}
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
