package consumers

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation"

	bindv1alpha1 "github.com/bindery-dev/bindery/apis/bind/v1alpha1"
)

func TestNameIsAReadableDNSLabelKeyedByIdentity(t *testing.T) {
	alice := bindv1alpha1.ConsumerIdentity{Issuer: "https://issuer.example.com", Subject: "1234", Username: "oidc:Alice@Example.com"}
	name := Name(alice, "cluster-uid")
	if !strings.HasPrefix(name, "oidc-alice-example-com-") {
		t.Errorf("Name = %q, want the sanitized username first", name)
	}
	if name != Name(alice, "cluster-uid") {
		t.Errorf("Name is not deterministic")
	}
	for _, n := range []string{name, NamespaceName(name)} {
		if errs := validation.IsDNS1123Label(n); len(errs) > 0 {
			t.Errorf("%q is no DNS label: %v", n, errs)
		}
	}
	// The username is only for reading: the same issuer, subject and cluster give the same hash.
	renamed := alice
	renamed.Username = "alice2"
	if h1, h2 := name[strings.LastIndex(name, "-"):], Name(renamed, "cluster-uid"); !strings.HasSuffix(h2, h1) {
		t.Errorf("hash changed with the username: %q vs %q", name, h2)
	}

	others := map[string]bindv1alpha1.ConsumerIdentity{
		"another subject":        {Issuer: alice.Issuer, Subject: "5678", Username: alice.Username},
		"another issuer":         {Issuer: "https://other.example.com", Subject: alice.Subject, Username: alice.Username},
		"fields split elsewhere": {Issuer: alice.Issuer + "1", Subject: "234", Username: alice.Username},
	}
	for what, other := range others {
		if Name(other, "cluster-uid") == name {
			t.Errorf("%s gives the same name %q", what, name)
		}
	}
	if Name(alice, "another-cluster") == name {
		t.Errorf("another cluster gives the same name %q", name)
	}
}

func TestNameOfOddUsernames(t *testing.T) {
	for username, prefix := range map[string]string{
		"":                             "consumer-",
		"@@@":                          "consumer-",
		"system:serviceaccount:a:b":    "system-serviceaccount-a-b-",
		strings.Repeat("verylong", 9):  strings.Repeat("verylong", 4)[:maxReadable] + "-",
		strings.Repeat("a", 29) + ".b": strings.Repeat("a", 29) + "-",
	} {
		name := Name(bindv1alpha1.ConsumerIdentity{Issuer: "i", Subject: "s", Username: username}, "c")
		if !strings.HasPrefix(name, prefix) || len(name) != len(prefix)+hashLength {
			t.Errorf("Name for username %q = %q, want %q and a hash", username, name, prefix)
		}
		if errs := validation.IsDNS1123Label(NamespaceName(name)); len(errs) > 0 {
			t.Errorf("namespace of %q is no DNS label: %v", username, errs)
		}
	}
}

func TestOpaqueNameHasTheHashButNoUsername(t *testing.T) {
	carol := bindv1alpha1.ConsumerIdentity{Issuer: "https://issuer.example.com", Subject: "42", Username: "oidc:carol@example.com"}
	opaque, readable := OpaqueName(carol, "cluster-uid"), Name(carol, "cluster-uid")
	if strings.Contains(opaque, "carol") || strings.Contains(opaque, "example") {
		t.Errorf("OpaqueName = %q names the user", opaque)
	}
	if want := OpaqueNamePrefix + readable[strings.LastIndex(readable, "-"):]; opaque != want {
		t.Errorf("OpaqueName = %q, want %q: the hash of Name", opaque, want)
	}
	if errs := validation.IsDNS1123Label(NamespaceName(opaque)); len(errs) > 0 {
		t.Errorf("namespace of %q is no DNS label: %v", opaque, errs)
	}
	if OpaqueName(carol, "another-cluster") == opaque {
		t.Error("another cluster gives the same opaque name")
	}
}
