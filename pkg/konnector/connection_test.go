package konnector

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestBearerSendsTheCurrentToken(t *testing.T) {
	var got []string
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		got = append(got, req.Header.Get("Authorization"))
	}))
	defer server.Close()
	b := &bearer{}
	b.store(token{value: "first"})
	c := &http.Client{Transport: b.wrap(http.DefaultTransport)}
	send := func() {
		req, _ := http.NewRequest(http.MethodGet, server.URL, nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if req.Header.Get("Authorization") != "" {
			t.Error("the caller's request was changed")
		}
	}
	send()
	b.store(token{value: "renewed"})
	send()
	if len(got) != 2 || got[0] != "Bearer first" || got[1] != "Bearer renewed" {
		t.Errorf("the server saw %q, want the first token, then the renewed one", got)
	}
}
