package templating

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"text/template"
	"unicode/utf8"
)

const (
	// maxLabelLength is the RFC 1123 label limit, which namespaces and most names must respect.
	maxLabelLength = 63
	// hashLength is the number of hex characters ShortHash returns (40 bits).
	hashLength = 10
	// labelPrefixLength leaves room for "-" plus the hash in a shortened label.
	labelPrefixLength = maxLabelLength - 1 - hashLength
)

// funcMap is the fixed set of functions every bindery template may call. Keeping it small keeps
// templates portable between the syncagent and the konnector and their results stable across
// releases: a renamed copy would orphan the old one.
func funcMap() template.FuncMap {
	return template.FuncMap{
		"shortHash": ShortHash,
		"dnsLabel":  DNSLabel,
		"lower":     strings.ToLower,
		"trunc":     trunc,
		"join":      join,
	}
}

// ShortHash returns the first 10 hex characters of the SHA-256 of parts joined with "/".
//
// The "/" join is part of the contract (users reproduce hashes outside bindery), which means
// ShortHash("a/b") == ShortHash("a", "b"); that is harmless for Kubernetes names, namespaces and
// logical cluster names, which cannot contain "/". DNSLabel does not rely on it.
func ShortHash(parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "/")))
	return hex.EncodeToString(sum[:])[:hashLength]
}

// DNSLabel turns parts into one valid RFC 1123 label (at most 63 characters of [a-z0-9-],
// starting and ending alphanumeric). It is deterministic, and for a fixed number of parts
// distinct inputs give distinct labels (up to a 40-bit hash collision).
//
// The readable form is the non-empty parts joined with "-". It is returned as is only when the
// parts can be read back from it unambiguously:
//
//   - every part is non-empty and already a valid label fragment (lowercase alphanumerics and
//     "-", alphanumeric at both ends), so normalisation did not change it;
//   - only the last part contains "-", so the join cannot shift a boundary
//     (("a-b", "c") and ("a", "b-c") would otherwise both give "a-b-c");
//   - the join fits in 63 characters.
//
// Otherwise the result is the normalised join (lowercased, characters outside [a-z0-9-]
// replaced by "-", "-" trimmed at the ends), cut to 52 characters and trimmed of a trailing
// "-", followed by "-" and a 10-character hash of the original parts. The hash encodes each
// part with its length rather than joining them, so it distinguishes every split of the same
// characters; it is therefore not ShortHash(parts...). If nothing readable survives
// normalisation, the result is the hash alone.
func DNSLabel(parts ...string) string {
	readable := make([]string, 0, len(parts))
	unambiguous := len(parts) > 0
	for i, part := range parts {
		norm := normalizeLabelPart(part)
		if part == "" || norm != part {
			unambiguous = false
		}
		if i < len(parts)-1 && strings.Contains(part, "-") {
			unambiguous = false
		}
		if norm != "" {
			readable = append(readable, norm)
		}
	}
	joined := strings.Join(readable, "-")
	if unambiguous && len(joined) <= maxLabelLength {
		return joined
	}

	// joined is ASCII after normalisation, so byte slicing is safe.
	prefix := joined
	if len(prefix) > labelPrefixLength {
		prefix = prefix[:labelPrefixLength]
	}
	prefix = strings.TrimRight(prefix, "-")
	hash := partsHash(parts)
	if prefix == "" {
		return hash
	}
	return prefix + "-" + hash
}

// normalizeLabelPart lowercases s, maps every character outside [a-z0-9-] to "-" and trims "-"
// at both ends.
func normalizeLabelPart(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '-' {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	return strings.Trim(b.String(), "-")
}

// partsHash hashes parts with a length prefix per part, so that no two different lists of
// strings share an encoding.
func partsHash(parts []string) string {
	h := sha256.New()
	for _, part := range parts {
		h.Write([]byte(strconv.Itoa(len(part))))
		h.Write([]byte{':'})
		h.Write([]byte(part))
	}
	return hex.EncodeToString(h.Sum(nil))[:hashLength]
}

// trunc returns the first n characters (runes, so multi-byte characters are never split) of s.
func trunc(n int, s string) (string, error) {
	if n < 0 {
		return "", fmt.Errorf("trunc: length must not be negative, got %d", n)
	}
	if utf8.RuneCountInString(s) <= n {
		return s, nil
	}
	i := 0
	for pos := range s {
		if i == n {
			return s[:pos], nil
		}
		i++
	}
	return s, nil
}

// join concatenates parts with sep; the separator comes first so that parts can be variadic.
func join(sep string, parts ...string) string {
	return strings.Join(parts, sep)
}
