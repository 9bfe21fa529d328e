package devoidc

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/op"
)

const (
	// signingKeyBits: RS256 with 2048 bits is what kube-apiserver and every relying party accept.
	signingKeyBits = 2048
	// caLifetime is long because a CertDir keeps the CA, and whatever trusts it (an
	// --authentication-config) should not break during a development cycle.
	caLifetime = 10 * 365 * 24 * time.Hour
	// servingCertLifetime: the serving certificate is made anew at every start.
	servingCertLifetime = 365 * 24 * time.Hour

	caCertFile     = "ca.crt"
	caKeyFile      = "ca.key"
	signingKeyFile = "signing.key"
)

// certificateAuthority signs the serving certificate; its certificate is what clients trust.
type certificateAuthority struct {
	cert    *x509.Certificate
	certPEM []byte
	key     *ecdsa.PrivateKey
}

// signingKey signs ID tokens. Its key id is the JWK thumbprint of the public key (RFC 7638), so
// the same key has the same id after a restart.
type signingKey struct {
	id  string
	key *rsa.PrivateKey
}

var _ op.SigningKey = (*signingKey)(nil)

func (k *signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k *signingKey) Key() any                                    { return k.key }
func (k *signingKey) ID() string                                  { return k.id }

func (k *signingKey) public() op.Key { return publicKey{k} }

// publicKey is the signing key as the JWKS endpoint publishes it.
type publicKey struct{ k *signingKey }

var _ op.Key = publicKey{}

func (p publicKey) ID() string                         { return p.k.id }
func (p publicKey) Algorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (p publicKey) Use() string                        { return "sig" }
func (p publicKey) Key() any                           { return &p.k.key.PublicKey }

func newSigningKey(key *rsa.PrivateKey) (*signingKey, error) {
	thumbprint, err := (&jose.JSONWebKey{Key: &key.PublicKey}).Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("computing the signing key's id: %w", err)
	}
	return &signingKey{id: base64.RawURLEncoding.EncodeToString(thumbprint), key: key}, nil
}

// keyMaterial is what a server needs that a CertDir keeps across restarts.
type keyMaterial struct {
	ca      *certificateAuthority
	signing *signingKey
}

// loadOrCreateKeys reads the CA and signing key from dir, creating (and writing) those that are
// not there yet. With an empty dir everything is generated and nothing is written.
func loadOrCreateKeys(dir string) (*keyMaterial, error) {
	if dir == "" {
		return generateKeys()
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating cert dir: %w", err)
	}
	ca, err := loadOrCreateCA(dir)
	if err != nil {
		return nil, err
	}
	signing, err := loadOrCreateSigningKey(filepath.Join(dir, signingKeyFile))
	if err != nil {
		return nil, err
	}
	return &keyMaterial{ca: ca, signing: signing}, nil
}

func generateKeys() (*keyMaterial, error) {
	ca, err := newCA()
	if err != nil {
		return nil, err
	}
	signing, err := createSigningKey("")
	if err != nil {
		return nil, err
	}
	return &keyMaterial{ca: ca, signing: signing}, nil
}

func newCA() (*certificateAuthority, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generating the CA key: %w", err)
	}
	template, err := certTemplate("bindery devoidc CA", caLifetime)
	if err != nil {
		return nil, err
	}
	template.IsCA = true
	template.BasicConstraintsValid = true
	template.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("creating the CA certificate: %w", err)
	}
	return caFromDER(der, key)
}

func caFromDER(der []byte, key *ecdsa.PrivateKey) (*certificateAuthority, error) {
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parsing the CA certificate: %w", err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	return &certificateAuthority{cert: cert, certPEM: certPEM, key: key}, nil
}

// servingCert issues a TLS certificate for the hostnames (IP addresses or DNS names).
func (ca *certificateAuthority) servingCert(hostnames []string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("generating the serving key: %w", err)
	}
	template, err := certTemplate(hostnames[0], servingCertLifetime)
	if err != nil {
		return tls.Certificate{}, err
	}
	template.KeyUsage = x509.KeyUsageDigitalSignature
	template.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	for _, h := range hostnames {
		if ip := net.ParseIP(h); ip != nil {
			template.IPAddresses = append(template.IPAddresses, ip)
		} else {
			template.DNSNames = append(template.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, template, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("creating the serving certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der, ca.cert.Raw}, PrivateKey: key}, nil
}

func certTemplate(commonName string, lifetime time.Duration) (*x509.Certificate, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("generating a certificate serial number: %w", err)
	}
	// Backdated a little, so that a clock a few seconds behind still accepts it.
	now := time.Now().Add(-time.Minute)
	return &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: commonName},
		NotBefore:    now,
		NotAfter:     now.Add(lifetime),
	}, nil
}

func loadOrCreateCA(dir string) (*certificateAuthority, error) {
	certPath, keyPath := filepath.Join(dir, caCertFile), filepath.Join(dir, caKeyFile)
	certPEM, certErr := os.ReadFile(certPath)
	keyPEM, keyErr := os.ReadFile(keyPath)
	switch {
	case certErr == nil && keyErr == nil:
		return parseCA(certPEM, keyPEM, dir)
	case errors.Is(certErr, fs.ErrNotExist) && errors.Is(keyErr, fs.ErrNotExist):
		return createCA(certPath, keyPath)
	case certErr != nil && !errors.Is(certErr, fs.ErrNotExist):
		return nil, fmt.Errorf("reading the CA certificate: %w", certErr)
	case keyErr != nil && !errors.Is(keyErr, fs.ErrNotExist):
		return nil, fmt.Errorf("reading the CA key: %w", keyErr)
	default:
		return nil, fmt.Errorf("cert dir %s has only one of %s and %s: remove it to start afresh", dir, caCertFile, caKeyFile)
	}
}

func parseCA(certPEM, keyPEM []byte, dir string) (*certificateAuthority, error) {
	der, err := pemBlock(certPEM, "CERTIFICATE")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, caCertFile), err)
	}
	key, err := parsePrivateKey[*ecdsa.PrivateKey](keyPEM, filepath.Join(dir, caKeyFile))
	if err != nil {
		return nil, err
	}
	return caFromDER(der, key)
}

func createCA(certPath, keyPath string) (*certificateAuthority, error) {
	ca, err := newCA()
	if err != nil {
		return nil, err
	}
	if err := writePrivateKey(keyPath, ca.key); err != nil {
		return nil, err
	}
	if err := os.WriteFile(certPath, ca.certPEM, 0o644); err != nil {
		return nil, fmt.Errorf("writing the CA certificate: %w", err)
	}
	return ca, nil
}

func loadOrCreateSigningKey(path string) (*signingKey, error) {
	keyPEM, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return createSigningKey(path)
	}
	if err != nil {
		return nil, fmt.Errorf("reading the signing key: %w", err)
	}
	key, err := parsePrivateKey[*rsa.PrivateKey](keyPEM, path)
	if err != nil {
		return nil, err
	}
	return newSigningKey(key)
}

// createSigningKey generates a signing key and, given a path, writes it there.
func createSigningKey(path string) (*signingKey, error) {
	key, err := rsa.GenerateKey(rand.Reader, signingKeyBits)
	if err != nil {
		return nil, fmt.Errorf("generating the signing key: %w", err)
	}
	if path != "" {
		if err := writePrivateKey(path, key); err != nil {
			return nil, err
		}
	}
	return newSigningKey(key)
}

// parsePrivateKey reads a PKCS #8 private key of type K from PEM data read from path.
func parsePrivateKey[K any](data []byte, path string) (K, error) {
	var zero K
	der, err := pemBlock(data, "PRIVATE KEY")
	if err != nil {
		return zero, fmt.Errorf("%s: %w", path, err)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return zero, fmt.Errorf("parsing %s: %w", path, err)
	}
	key, ok := parsed.(K)
	if !ok {
		return zero, fmt.Errorf("%s: want a key of type %T, got %T", path, zero, parsed)
	}
	return key, nil
}

func writePrivateKey(path string, key crypto.PrivateKey) error {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("encoding %s: %w", path, err)
	}
	data := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// pemBlock returns the DER bytes of the first PEM block, which must be of the given type.
func pemBlock(data []byte, blockType string) ([]byte, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("no PEM data")
	}
	if block.Type != blockType {
		return nil, fmt.Errorf("want a PEM block %q, got %q", blockType, block.Type)
	}
	return block.Bytes, nil
}

// PrepareCertDir creates the CA and signing key in dir where they are missing and returns the CA
// certificate (PEM), without starting a server. Whatever must trust the issuer before it runs (a
// kube-apiserver's --authentication-config, written before the backend that embeds the issuer
// can start) reads the CA from here; a later Start with the same CertDir serves with it.
func PrepareCertDir(dir string) ([]byte, error) {
	if dir == "" {
		return nil, errors.New("PrepareCertDir needs a directory")
	}
	keys, err := loadOrCreateKeys(dir)
	if err != nil {
		return nil, err
	}
	return append([]byte(nil), keys.ca.certPEM...), nil
}
