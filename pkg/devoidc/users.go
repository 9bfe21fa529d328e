package devoidc

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"strings"

	"sigs.k8s.io/yaml"
)

// emailDomain is the domain of a user's default email address. example.com is reserved for
// documentation and tests (RFC 2606), so a default address can never reach a real mailbox.
const emailDomain = "example.com"

// User is an account that can sign in at the provider's login page.
type User struct {
	// Username is what the user types into the login form; it is also the preferred_username claim
	// and the seed of Subject.
	Username string `json:"username"`
	// Password is compared as is; it is a development password, never a real one.
	Password string `json:"password"`
	// Email is the email claim (always email_verified). Default: <username>@example.com.
	Email string `json:"email,omitempty"`
	// Name is the name claim. Default: the username.
	Name string `json:"name,omitempty"`
	// Groups is the groups claim.
	Groups []string `json:"groups,omitempty"`
}

// Subject is the user's sub claim: a stable id derived from the username alone, so it stays the
// same across restarts and across servers configured with the same users, and so that RBAC written
// for it keeps working. It does not reveal the username, as a real provider's opaque ids do not:
// whoever relies on the username must read preferred_username or email.
func (u User) Subject() string {
	sum := sha256.Sum256([]byte("devoidc/" + u.Username))
	return "u-" + hex.EncodeToString(sum[:16])
}

// withDefaults returns the user with Email and Name filled in where they are empty.
func (u User) withDefaults() User {
	if u.Email == "" {
		u.Email = u.Username + "@" + emailDomain
	}
	if u.Name == "" {
		u.Name = u.Username
	}
	return u
}

// ParseUsers reads users from the compact form of a command-line flag: comma-separated entries of
// username:password, each optionally followed by :group1;group2. A password cannot contain ':' or
// ',' in this form; use LoadUsers for such passwords and for emails and names.
func ParseUsers(spec string) ([]User, error) {
	if strings.TrimSpace(spec) == "" {
		return nil, fmt.Errorf("no users given: want username:password[:group1;group2],...")
	}
	var users []User
	for i, entry := range strings.Split(spec, ",") {
		user, err := parseUserEntry(strings.TrimSpace(entry))
		if err != nil {
			return nil, fmt.Errorf("user entry %d %q: %w", i+1, entry, err)
		}
		users = append(users, user)
	}
	if err := validateUsers(users); err != nil {
		return nil, err
	}
	return users, nil
}

// parseUserEntry reads one username:password[:group1;group2] entry.
func parseUserEntry(entry string) (User, error) {
	parts := strings.Split(entry, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return User{}, fmt.Errorf("want username:password[:group1;group2], got %d colon-separated fields", len(parts))
	}
	user := User{Username: parts[0], Password: parts[1]}
	if len(parts) == 3 {
		for _, group := range strings.Split(parts[2], ";") {
			if group == "" {
				return User{}, fmt.Errorf("empty group name in %q", parts[2])
			}
			user.Groups = append(user.Groups, group)
		}
	}
	return user, nil
}

// LoadUsers reads users from a YAML or JSON file that holds a list of users, for example:
//
//   - username: alice
//     password: wonderland
//     email: alice@example.org
//     name: Alice Liddell
//     groups: [admins, developers]
//
// Unknown fields are refused, so that a misspelled key does not silently drop a claim.
func LoadUsers(path string) ([]User, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading users file: %w", err)
	}
	var users []User
	if err := yaml.UnmarshalStrict(data, &users); err != nil {
		return nil, fmt.Errorf("parsing users file %s: want a list of users (username, password, email, name, groups): %w", path, err)
	}
	if err := validateUsers(users); err != nil {
		return nil, fmt.Errorf("users file %s: %w", path, err)
	}
	return users, nil
}

// validateUsers checks what the login page and the claims rely on: at least one user, each with a
// username and a password, and no username twice.
func validateUsers(users []User) error {
	if len(users) == 0 {
		return fmt.Errorf("no users: nobody could sign in")
	}
	seen := make(map[string]bool, len(users))
	for i, u := range users {
		switch {
		case u.Username == "":
			return fmt.Errorf("user %d: username is empty", i+1)
		case strings.ContainsAny(u.Username, " \t\r\n"):
			return fmt.Errorf("user %d %q: username contains whitespace", i+1, u.Username)
		case u.Password == "":
			return fmt.Errorf("user %d %q: password is empty", i+1, u.Username)
		case seen[u.Username]:
			return fmt.Errorf("user %d %q: username appears more than once", i+1, u.Username)
		}
		for _, group := range u.Groups {
			if group == "" {
				return fmt.Errorf("user %d %q: empty group name", i+1, u.Username)
			}
		}
		seen[u.Username] = true
	}
	return nil
}
