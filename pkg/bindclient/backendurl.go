package bindclient

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// NormalizeBackendURL returns the canonical form of a backend's base URL: lower-case scheme and
// host, no default port, no trailing slash. One backend thus has one session file however its
// URL was typed. Plain http is accepted only for a loopback host, because the session token
// travels in every request.
func NormalizeBackendURL(raw string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return "", fmt.Errorf("backend URL %q: %w", raw, err)
	}
	u.Scheme = strings.ToLower(u.Scheme)
	switch {
	case u.Scheme != "https" && u.Scheme != "http":
		return "", fmt.Errorf("backend URL %q: give an https URL such as https://bindery.example.com", raw)
	case u.Host == "":
		return "", fmt.Errorf("backend URL %q has no host: give an https URL such as https://bindery.example.com", raw)
	case u.User != nil || u.RawQuery != "" || u.Fragment != "":
		return "", fmt.Errorf("backend URL %q: give the backend's base URL, without credentials, query or fragment", raw)
	case u.Scheme == "http" && !isLoopback(u.Hostname()):
		return "", fmt.Errorf("backend URL %q: plain http is allowed only for a loopback address; use https", raw)
	}
	host := strings.ToLower(u.Hostname())
	port := u.Port()
	if (u.Scheme == "https" && port == "443") || (u.Scheme == "http" && port == "80") {
		port = ""
	}
	if port != "" {
		host = net.JoinHostPort(host, port)
	} else if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return u.Scheme + "://" + host + strings.TrimRight(u.EscapedPath(), "/"), nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
