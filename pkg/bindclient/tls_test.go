package bindclient

import (
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestHTTPClientTrustsTheGivenCA(t *testing.T) {
	server := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer server.Close()
	caFile := filepath.Join(t.TempDir(), "ca.crt")
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: server.Certificate().Raw})
	if err := os.WriteFile(caFile, caPEM, 0o600); err != nil {
		t.Fatal(err)
	}

	withCA, err := HTTPClient(caFile)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := withCA.Get(server.URL)
	if err != nil {
		t.Fatalf("with the CA: %v", err)
	}
	resp.Body.Close()

	systemOnly, err := HTTPClient("")
	if err != nil {
		t.Fatal(err)
	}
	if resp, err := systemOnly.Get(server.URL); err == nil {
		resp.Body.Close()
		t.Error("the system roots trusted the test server's self-signed certificate")
	}
}

func TestHTTPClientRefusesAFileWithoutCertificates(t *testing.T) {
	notPEM := filepath.Join(t.TempDir(), "ca.crt")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := HTTPClient(notPEM); err == nil || !strings.Contains(err.Error(), "holds no PEM certificate") {
		t.Errorf("HTTPClient(%s) error %v, want the file refused in words", notPEM, err)
	}
	if _, err := HTTPClient(filepath.Join(t.TempDir(), "missing.crt")); err == nil {
		t.Error("HTTPClient accepted a missing file")
	}
}
