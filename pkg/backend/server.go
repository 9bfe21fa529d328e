package backend

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"github.com/kcp-dev/logicalcluster/v3"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bindv1alpha1 "github.com/bindery-dev/bindery/apis/bind/v1alpha1"
	"github.com/bindery-dev/bindery/pkg/bindprotocol"
	"github.com/bindery-dev/bindery/pkg/consumers"
	"github.com/bindery-dev/bindery/pkg/seal"
	"github.com/bindery-dev/bindery/pkg/services"
)

// Binder provisions what a bind needs on the provider cluster (pkg/consumers implements it).
type Binder interface {
	// Bind finds or creates the Consumer of identity and cluster with serviceName bound to it,
	// and everything it owns; it creates nothing when the Service cannot be bound.
	Bind(ctx context.Context, identity bindv1alpha1.ConsumerIdentity, cluster bindv1alpha1.ConsumerCluster, serviceName string) (*bindv1alpha1.Consumer, *services.Resolved, error)
	// Credential returns a kubeconfig with a token of the Consumer's ServiceAccount.
	Credential(ctx context.Context, consumer *bindv1alpha1.Consumer, ttl time.Duration) ([]byte, time.Time, error)
}

var _ Binder = &consumers.Provisioner{}

// ServerOptions configure the backend's HTTP handlers.
type ServerOptions struct {
	// ExternalURL is where browsers and CLIs reach the backend; the issuer sends the browser back
	// to <ExternalURL>/callback.
	ExternalURL *url.URL
	// Title names the provider on the web page.
	Title string
	// SessionDuration is how long a sign-in lasts.
	SessionDuration time.Duration
	// CredentialTTL is the lifetime of the token in a bind's kubeconfig.
	CredentialTTL time.Duration
	OIDC          OIDCOptions
	// Workspace is the kcp workspace the backend serves, whose RBAC decides who may bind; empty
	// for a provider cluster.
	Workspace logicalcluster.Path
}

// Server is the backend's web page and JSON API.
type Server struct {
	opts   ServerOptions
	rp     *relyingParty
	sealer *seal.Sealer
	authz  *authorizer
	reader client.Reader
	binder Binder
	log    logr.Logger
	used   *usedCodes
}

// NewServer returns the handlers. reader reads Services (a cache is fine); c asks access reviews;
// key seals sessions.
func NewServer(opts ServerOptions, reader client.Reader, c client.Client, binder Binder, key []byte, log logr.Logger) (*Server, error) {
	sealer, err := seal.New(key)
	if err != nil {
		return nil, err
	}
	rp, err := newRelyingParty(opts.OIDC, opts.ExternalURL.JoinPath(bindprotocol.CallbackPath).String())
	if err != nil {
		return nil, err
	}
	return &Server{opts: opts, rp: rp, sealer: sealer, authz: &authorizer{client: c, workspace: opts.Workspace}, reader: reader,
		binder: binder, log: log, used: &usedCodes{seen: map[string]time.Time{}}}, nil
}

// Handler routes every path the backend serves.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.home)
	mux.HandleFunc("GET "+bindprotocol.LoginPath, s.login)
	mux.HandleFunc("GET "+bindprotocol.CallbackPath, s.callback)
	mux.HandleFunc("POST /pick", s.pick)
	mux.HandleFunc("POST /logout", s.logout)
	mux.HandleFunc("POST "+bindprotocol.TokenPath, s.token)
	mux.HandleFunc("GET "+bindprotocol.WhoAmIPath, s.whoAmI)
	mux.HandleFunc("GET "+bindprotocol.ServicesPath, s.listServices)
	mux.HandleFunc("POST "+fmt.Sprintf(bindprotocol.BindPathFormat, "{service}"), s.bind)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	return securityHeaders(mux)
}

// securityHeaders forbid framing and sniffing and keep the page's URLs out of other sites' logs.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self' http://127.0.0.1:* http://localhost:*")
		h.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

// apiError is a refusal with its HTTP status and words for the user.
type apiError struct {
	status  int
	reason  string
	message string
	field   string
}

func (e *apiError) Error() string { return e.message }

// asAPIError turns any error into an apiError; unexpected ones become 500s.
func asAPIError(err error) *apiError {
	var apiErr *apiError
	if errors.As(err, &apiErr) {
		return apiErr
	}
	var denied *denial
	if errors.As(err, &denied) {
		return &apiError{status: http.StatusForbidden, reason: bindprotocol.ReasonForbidden, message: denied.Error()}
	}
	return &apiError{status: http.StatusInternalServerError, reason: bindprotocol.ReasonInternal, message: err.Error()}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) writeAPIError(w http.ResponseWriter, r *http.Request, err error, user string) {
	apiErr := asAPIError(err)
	s.log.Info("refused", "path", r.URL.Path, "user", user, "reason", apiErr.reason, "message", apiErr.message)
	writeJSON(w, apiErr.status, bindprotocol.Error{Reason: apiErr.reason, Message: apiErr.message, Field: apiErr.field})
}

// usedCodes remembers redeemed one-time codes until they expire, so each is redeemed once. A
// restart forgets them, which leaves at most codeTTL in which a code could be redeemed twice, and
// only by whoever holds its PKCE verifier: the CLI that started the login.
type usedCodes struct {
	mu   sync.Mutex
	seen map[string]time.Time
}

func (u *usedCodes) redeem(id string, expires time.Time) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	now := time.Now()
	for k, exp := range u.seen {
		if now.After(exp) {
			delete(u.seen, k)
		}
	}
	if _, seen := u.seen[id]; seen {
		return false
	}
	u.seen[id] = expires
	return true
}
