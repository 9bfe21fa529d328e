package bindclient

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
)

// HTTPClient returns an HTTP client for talking to a backend. It trusts the system's roots and,
// when caFile is not empty, the PEM certificates in caFile as well: a backend whose certificate
// comes from its own CA (the development backend's, a company CA) is reached without turning
// verification off.
func HTTPClient(caFile string) (*http.Client, error) {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	if caFile != "" {
		pool, err := caPool(caFile)
		if err != nil {
			return nil, err
		}
		transport.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &http.Client{Transport: transport}, nil
}

// caPool is the system's roots plus the certificates of caFile.
func caPool(caFile string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("reading the backend's CA bundle: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		// Without system roots only the given CA is trusted, which is what a private backend needs.
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("the CA bundle %s holds no PEM certificate: give the file with the backend's CA certificate (-----BEGIN CERTIFICATE-----)", caFile)
	}
	return pool, nil
}
