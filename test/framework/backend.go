package framework

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"
)

// StartBackend runs bindery-backend with args (what it serves and its issuer) on a free loopback
// address, metrics and probes off, until the test ends, and returns its URL once it serves.
func StartBackend(t testing.TB, args ...string) (url string, proc *Process) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	listen := l.Addr().String()
	l.Close()
	proc = StartProcess(t, "bindery-backend", Binary(t, "./cmd/bindery-backend"), append([]string{
		"--listen-address", listen, "--metrics-bind-address", "0", "--health-probe-bind-address", "0",
	}, args...)...)
	url = "http://" + listen
	WaitFor(t, time.Minute, "bindery-backend to serve", func(context.Context) (bool, string, error) {
		resp, err := http.Get(url + "/healthz")
		if err != nil {
			return false, err.Error(), nil
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, resp.Status, nil
	})
	return url, proc
}
