package backend

import (
	"fmt"
	"net"
	"net/url"
)

// checkLoopbackRedirect accepts only http URLs on a loopback address (RFC 8252, section 7.3): the
// CLI listens there, and a code sent anywhere else could be caught by someone else.
func checkLoopbackRedirect(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("redirect_uri %q is not a URL: %v", raw, err)
	}
	if u.Scheme != "http" {
		return nil, fmt.Errorf("redirect_uri %q: the scheme must be http (a loopback address of the CLI)", raw)
	}
	if u.User != nil || u.Fragment != "" {
		return nil, fmt.Errorf("redirect_uri %q: no user information or fragment allowed", raw)
	}
	host := u.Hostname()
	if host == "localhost" {
		return u, nil
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("redirect_uri %q: the host must be a loopback address (127.0.0.1, [::1] or localhost), where kubectl bindery listens", raw)
	}
	return u, nil
}
