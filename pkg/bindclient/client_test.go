package bindclient

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/bindery-dev/bindery/pkg/bindprotocol"
)

func TestClientCallsTheAPIWithTheSession(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+bindprotocol.WhoAmIPath, func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(bindprotocol.User{Username: "oidc:jane"})
	})
	mux.HandleFunc("GET "+bindprotocol.ServicesPath, func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(bindprotocol.ServiceList{Items: []bindprotocol.Service{{Name: "databases"}, {Name: "caches"}}})
	})
	mux.HandleFunc("POST /api/v1/services/{name}/bind", func(w http.ResponseWriter, r *http.Request) {
		var req bindprotocol.BindRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || r.Header.Get("Content-Type") != "application/json" {
			writeError(w, http.StatusBadRequest, bindprotocol.Error{Reason: bindprotocol.ReasonInvalidRequest, Message: "want a JSON BindRequest"})
			return
		}
		_ = json.NewEncoder(w).Encode(bindprotocol.BindResponse{Consumer: r.PathValue("name") + "/" + req.Cluster.ID})
	})
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer session-token" {
			writeError(w, http.StatusUnauthorized, bindprotocol.Error{Reason: bindprotocol.ReasonUnauthenticated, Message: "no session"})
			return
		}
		mux.ServeHTTP(w, r)
	}))
	defer server.Close()

	c, err := NewClient(server.URL+"/", &bindprotocol.Session{Token: "session-token"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if user, err := c.WhoAmI(ctx); err != nil || user.Username != "oidc:jane" {
		t.Errorf("WhoAmI = %+v, %v", user, err)
	}
	if services, err := c.Services(ctx); err != nil || len(services) != 2 || services[1].Name != "caches" {
		t.Errorf("Services = %+v, %v", services, err)
	}
	resp, err := c.Bind(ctx, "data bases", bindprotocol.BindRequest{Cluster: bindprotocol.Cluster{ID: "uid-1"}})
	if err != nil || resp.Consumer != "data bases/uid-1" {
		t.Errorf("Bind = %+v, %v; want the escaped name and the request to arrive", resp, err)
	}

	stranger, err := NewClient(server.URL, &bindprotocol.Session{Token: "someone-else"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = stranger.WhoAmI(ctx)
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusUnauthorized || !apiErr.SignInAgain() {
		t.Errorf("WhoAmI with a wrong token: %v, want an APIError that asks to sign in again", err)
	}
}

func TestNewClientNeedsASession(t *testing.T) {
	if _, err := NewClient("https://bindery.example.com", &bindprotocol.Session{}, nil); err == nil {
		t.Error("NewClient accepted a session without a token")
	}
}

func TestAPIErrorDecoding(t *testing.T) {
	for _, tc := range []struct {
		name        string
		status      int
		contentType string
		body        string
		want        string
		signInAgain bool
	}{{
		name:   "message and field",
		status: http.StatusBadRequest, contentType: "application/json",
		body: `{"reason":"InvalidRequest","message":"the cluster ID must be the UID of kube-system","field":"cluster.id"}`,
		want: "the cluster ID must be the UID of kube-system (field cluster.id)",
	}, {
		name:   "expired session",
		status: http.StatusUnauthorized, contentType: "application/json",
		body: `{"reason":"SessionExpired","message":"the session has expired: sign in again"}`,
		want: "the session has expired: sign in again", signInAgain: true,
	}, {
		name:   "reason without a message",
		status: http.StatusForbidden, contentType: "application/json",
		body: `{"reason":"Forbidden"}`,
		want: "the backend answered 403 Forbidden (Forbidden)",
	}, {
		name:   "not a bindery error",
		status: http.StatusBadGateway, contentType: "text/html",
		body: "<html>upstream unavailable</html>",
		want: "answered 502 Bad Gateway without a bindery error (is it a bindery-backend URL?): <html>upstream unavailable</html>",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", tc.contentType)
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			}))
			defer server.Close()
			c, err := NewClient(server.URL, &bindprotocol.Session{Token: "t"}, nil)
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Services(context.Background())
			var apiErr *APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("error %v (%T), want an *APIError", err, err)
			}
			if !strings.HasSuffix(apiErr.Error(), tc.want) || apiErr.StatusCode != tc.status {
				t.Errorf("error %q (status %d), want it to end with %q (status %d)", apiErr, apiErr.StatusCode, tc.want, tc.status)
			}
			if apiErr.SignInAgain() != tc.signInAgain {
				t.Errorf("SignInAgain() = %t, want %t", apiErr.SignInAgain(), tc.signInAgain)
			}
		})
	}
}
