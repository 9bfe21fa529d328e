package servers

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"slices"
	"testing"
)

func TestCertAuthoritySignsServingAndClientCertificates(t *testing.T) {
	dir := t.TempDir()
	ca, err := newCertAuthority(dir, "ca", "test-ca")
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	caPEM, err := os.ReadFile(ca.path)
	if err != nil {
		t.Fatal(err)
	}
	if !pool.AppendCertsFromPEM(caPEM) {
		t.Fatal("the CA file holds no certificate")
	}

	certFile, keyFile, err := ca.serverCert(dir, "serving")
	if err != nil {
		t.Fatal(err)
	}
	serving := leaf(t, certFile, keyFile)
	for _, host := range []string{"127.0.0.1", "localhost"} {
		if _, err := serving.Verify(x509.VerifyOptions{Roots: pool, DNSName: host}); err != nil {
			t.Errorf("serving certificate for %s: %v", host, err)
		}
	}

	certFile, keyFile, err = ca.clientCert(dir, "admin", "kcp-admin", "system:kcp:admin")
	if err != nil {
		t.Fatal(err)
	}
	client := leaf(t, certFile, keyFile)
	if _, err := client.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("client certificate: %v", err)
	}
	if client.Subject.CommonName != "kcp-admin" || !slices.Equal(client.Subject.Organization, []string{"system:kcp:admin"}) {
		t.Errorf("client certificate names %q in %v, want kcp-admin in [system:kcp:admin]", client.Subject.CommonName, client.Subject.Organization)
	}
}

// leaf loads a certificate and its key as a pair, and returns the certificate.
func leaf(t *testing.T, certFile, keyFile string) *x509.Certificate {
	t.Helper()
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	return cert
}
