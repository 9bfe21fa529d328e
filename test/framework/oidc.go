package framework

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/bindery-dev/bindery/pkg/devoidc"
)

// AuthenticationConfig is an apiserver.config.k8s.io/v1 AuthenticationConfiguration for
// --authentication-config (kube-apiserver and kcp alike) that trusts the issuer, verified with
// the CA (PEM), for ID tokens of any of the audiences (client IDs), and names its users as
// bindery-backend does by default: claim email with prefix oidc:, groups with prefix oidc:.
func AuthenticationConfig(issuerURL string, ca []byte, audiences ...string) []byte {
	indented := "      " + strings.ReplaceAll(strings.TrimSpace(string(ca)), "\n", "\n      ")
	return fmt.Appendf(nil, `apiVersion: apiserver.config.k8s.io/v1
kind: AuthenticationConfiguration
jwt:
- issuer:
    url: %s
    audiences: [%s]
    audienceMatchPolicy: MatchAny
    certificateAuthority: |
%s
  claimMappings:
    username: {claim: email, prefix: "oidc:"}
    groups: {claim: groups, prefix: "oidc:"}
`, issuerURL, strings.Join(audiences, ", "), indented)
}

// DevUser is an account of the embedded issuer (--dev-oidc-users name:password).
type DevUser struct{ Name, Password string }

// Username is how an API server that trusts the issuer with AuthenticationConfig's claim
// mappings names the user (the embedded issuer's email is <name>@example.com), and so the backend.
func (u DevUser) Username() string { return "oidc:" + u.Name + "@example.com" }

// Issuer is what a test binary prepares before any server starts for the embedded issuer that
// every test's bindery-backend runs: the address it will serve at, and its state directory with
// the CA (and signing key) that API servers are told to trust now.
type Issuer struct {
	Address, StateDir string
	CA                []byte
}

// PrepareIssuer picks a free loopback address and makes the issuer's CA in a temporary state
// directory; remove deletes it.
func PrepareIssuer() (issuer *Issuer, remove func(), err error) {
	dir, err := os.MkdirTemp("", "bindery-e2e-issuer-")
	if err != nil {
		return nil, nil, fmt.Errorf("issuer state: %w", err)
	}
	remove = func() { _ = os.RemoveAll(dir) }
	ca, err := devoidc.PrepareCertDir(filepath.Join(dir, "keys"))
	if err != nil {
		remove()
		return nil, nil, fmt.Errorf("preparing the issuer's CA: %w", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		remove()
		return nil, nil, fmt.Errorf("a port for the issuer: %w", err)
	}
	defer l.Close()
	return &Issuer{Address: l.Addr().String(), StateDir: dir, CA: ca}, remove, nil
}

// URL is the issuer's URL.
func (i *Issuer) URL() string { return "https://" + i.Address }
