package bindclient

import "testing"

func TestNormalizeBackendURL(t *testing.T) {
	for raw, want := range map[string]string{
		"https://Bindery.Example.com":         "https://bindery.example.com",
		"HTTPS://bindery.example.com:443/":    "https://bindery.example.com",
		"https://bindery.example.com:8443/x/": "https://bindery.example.com:8443/x",
		"http://127.0.0.1:8080":               "http://127.0.0.1:8080",
		"http://localhost:80/":                "http://localhost",
		"https://[::1]:443":                   "https://[::1]",
		"https://[::1]:9443":                  "https://[::1]:9443",
		" https://bindery.example.com/ ":      "https://bindery.example.com",
	} {
		got, err := NormalizeBackendURL(raw)
		if err != nil || got != want {
			t.Errorf("NormalizeBackendURL(%q) = %q, %v; want %q", raw, got, err, want)
		}
	}
	for _, raw := range []string{
		"bindery.example.com",             // no scheme
		"ftp://bindery.example.com",       // not http(s)
		"http://bindery.example.com",      // plain http to a remote host
		"https://",                        // no host
		"https://u:p@bindery.example.com", // credentials
		"https://bindery.example.com/?a=b",
	} {
		if got, err := NormalizeBackendURL(raw); err == nil {
			t.Errorf("NormalizeBackendURL(%q) = %q, want an error", raw, got)
		}
	}
}
