package bindclient

import (
	"regexp"
	"testing"
)

func TestCodeChallengeS256MatchesRFC7636AppendixB(t *testing.T) {
	// RFC 7636 appendix B: the example verifier and its S256 challenge.
	const verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	const want = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
	if got := codeChallengeS256(verifier); got != want {
		t.Errorf("codeChallengeS256(%q) = %q, want %q", verifier, got, want)
	}
}

func TestNewCodeVerifierIsValidAndFresh(t *testing.T) {
	// RFC 7636 section 4.1: code-verifier = 43*128unreserved.
	valid := regexp.MustCompile(`^[A-Za-z0-9\-._~]{43,128}$`)
	first, second := newCodeVerifier(), newCodeVerifier()
	for _, v := range []string{first, second} {
		if !valid.MatchString(v) {
			t.Errorf("verifier %q is not 43-128 unreserved characters", v)
		}
	}
	if first == second {
		t.Errorf("two verifiers are both %q", first)
	}
}
