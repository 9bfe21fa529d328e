package bindclient

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
)

// randomToken returns n random bytes, base64url-encoded without padding: a PKCE code verifier
// (RFC 7636 section 4.1 asks for 43 to 128 characters of this alphabet; 32 bytes give 43) or a
// state value.
func randomToken(n int) string {
	b := make([]byte, n)
	// crypto/rand.Read never returns an error and always fills b (Go 1.24 and later).
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// newCodeVerifier returns a fresh PKCE code verifier of 43 characters (256 bits of entropy).
func newCodeVerifier() string {
	return randomToken(32)
}

// codeChallengeS256 is the S256 challenge of a verifier: base64url(SHA-256(ASCII(verifier)))
// without padding (RFC 7636 section 4.2).
func codeChallengeS256(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
