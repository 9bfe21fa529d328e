package consumers

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	bindv1alpha1 "github.com/bindery-dev/bindery/apis/bind/v1alpha1"
)

// Names of what a Consumer owns in its namespace.
const (
	// NamespacePrefix starts the name of every Consumer's namespace: bindery-<consumer name>.
	NamespacePrefix = "bindery-"
	// ServiceAccountName is the ServiceAccount the Consumer's credentials authenticate as.
	ServiceAccountName = "konnector"
	// RoleName is the Role (and RoleBinding) that grants the ServiceAccount its access.
	RoleName = "konnector"
	// LeaseName is the Lease (coordination.k8s.io) the konnector renews as its heartbeat.
	LeaseName = "konnector-heartbeat"
	// Finalizer holds a Consumer until its access is revoked.
	Finalizer = "bind.bindery.dev/revoke"
)

// maxReadable bounds the readable part of a name, so that NamespacePrefix, the readable part,
// a dash and the hash fit a DNS label (63 characters).
const (
	maxReadable = 30
	hashLength  = 16
)

// Name is the name of the Consumer for one user's consumer cluster: a readable prefix of the
// username, then a hash of issuer, subject and cluster ID. It is a DNS label that leaves room for
// NamespacePrefix. The hash keys the name to the identity the issuer vouched for, so another
// user who sends the same cluster ID gets another Consumer; the username is only for people
// reading the name, and two users whose names sanitize alike still differ by the hash.
func Name(identity bindv1alpha1.ConsumerIdentity, clusterID string) string {
	return readable(identity.Username) + "-" + identityHash(identity, clusterID)
}

// OpaqueNamePrefix starts the name of a Consumer named by OpaqueName.
const OpaqueNamePrefix = "consumer"

// OpaqueName is Name without the username: "consumer-" and the same hash. A reseller's backend
// names its Consumers so (Provisioner.OpaqueNames), because the names of their namespaces travel
// on to its own provider, in the names and ownership marks of the copies there: the hash tells
// the reseller's consumers apart without saying who they are.
func OpaqueName(identity bindv1alpha1.ConsumerIdentity, clusterID string) string {
	return OpaqueNamePrefix + "-" + identityHash(identity, clusterID)
}

// identityHash is the hash part of a Consumer's name: issuer, subject and cluster ID.
func identityHash(identity bindv1alpha1.ConsumerIdentity, clusterID string) string {
	h := sha256.New()
	// Length prefixes keep the fields apart: no two triples hash the same input.
	for _, part := range []string{identity.Issuer, identity.Subject, clusterID} {
		fmt.Fprintf(h, "%d:%s", len(part), part)
	}
	return hex.EncodeToString(h.Sum(nil))[:hashLength]
}

// NamespaceName is the namespace a Consumer owns on the provider cluster.
func NamespaceName(consumer string) string { return NamespacePrefix + consumer }

// readable lowercases s, turns every run of characters other than [a-z0-9] into one dash and
// cuts it to maxReadable characters; "consumer" when nothing is left.
func readable(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
			dash = false
			continue
		}
		if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	out := b.String()
	if len(out) > maxReadable {
		out = out[:maxReadable]
	}
	out = strings.TrimRight(out, "-")
	if out == "" {
		return "consumer"
	}
	return out
}
