package devoidc

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

const (
	defaultAddress = "127.0.0.1:0"
	// shutdownTimeout bounds Stop: a development server has no long requests worth waiting for.
	shutdownTimeout = 5 * time.Second
)

// defaultHostnames are the names of the loopback interface, where the server listens by default.
var defaultHostnames = []string{"127.0.0.1", "localhost"}

// Options configure a Server.
type Options struct {
	// Address is the listen address. Default: 127.0.0.1:0 (a free port on loopback).
	Address string
	// Users can sign in at the login page. At least one is required.
	Users []User
	// Clients are the registered relying parties. At least one is required.
	Clients []Client
	// Hostnames are the IP addresses and DNS names the serving certificate is valid for. The first
	// one is the host of the issuer URL. Default: 127.0.0.1, localhost.
	Hostnames []string
	// CertDir, when set, keeps the CA and the token signing key across restarts (created on the
	// first start): whatever trusts the CA keeps trusting the server, and ID tokens issued before a
	// restart still verify, provided the issuer URL (Address, Hostnames) stays the same. The
	// serving certificate is issued anew at every start. Default: everything is generated in memory.
	CertDir string
	// Log receives the server's own messages (logins, serving errors). The op package logs through
	// log/slog's default logger. Default: discard.
	Log logr.Logger
}

func (o Options) withDefaults() Options {
	if o.Address == "" {
		o.Address = defaultAddress
	}
	if len(o.Hostnames) == 0 {
		o.Hostnames = defaultHostnames
	}
	if o.Log.GetSink() == nil {
		o.Log = logr.Discard()
	}
	return o
}

func (o Options) validate() error {
	if err := validateUsers(o.Users); err != nil {
		return err
	}
	if err := validateClients(o.Clients); err != nil {
		return err
	}
	for _, h := range o.Hostnames {
		if h == "" {
			return errors.New("empty hostname")
		}
	}
	return nil
}

// Server is a running OpenID provider.
type Server struct {
	issuer string
	caPEM  []byte
	http   *http.Server
	log    logr.Logger

	// served is closed when Serve returns; serveErr is its error, if it failed on its own.
	served   chan struct{}
	serveErr error

	stopOnce sync.Once
	stopErr  error
}

// Start listens on opts.Address and serves the provider over TLS until ctx ends or Stop is called.
// It returns once the listener is open, so the issuer is reachable when Start returns.
func Start(ctx context.Context, opts Options) (*Server, error) {
	opts = opts.withDefaults()
	if err := opts.validate(); err != nil {
		return nil, fmt.Errorf("dev OIDC options: %w", err)
	}
	keys, err := loadOrCreateKeys(opts.CertDir)
	if err != nil {
		return nil, fmt.Errorf("dev OIDC keys: %w", err)
	}
	cert, err := keys.ca.servingCert(opts.Hostnames)
	if err != nil {
		return nil, fmt.Errorf("dev OIDC serving certificate: %w", err)
	}
	listener, err := net.Listen("tcp", opts.Address)
	if err != nil {
		return nil, fmt.Errorf("dev OIDC listening on %s: %w", opts.Address, err)
	}
	port := listener.Addr().(*net.TCPAddr).Port
	issuer := "https://" + net.JoinHostPort(opts.Hostnames[0], strconv.Itoa(port))

	handler, err := newHandler(issuer, newStorage(opts.Users, opts.Clients, keys.signing), opts.Log)
	if err != nil {
		_ = listener.Close()
		return nil, err
	}
	s := &Server{
		issuer: issuer,
		caPEM:  keys.ca.certPEM,
		log:    opts.Log,
		http: &http.Server{
			Handler:           handler,
			TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
			ReadHeaderTimeout: 10 * time.Second,
		},
		served: make(chan struct{}),
	}
	go s.serve(tls.NewListener(listener, s.http.TLSConfig))
	go s.stopWhenDone(ctx)
	opts.Log.Info("Dev OIDC provider serving", "issuer", issuer)
	return s, nil
}

// newHandler puts the login page next to the op package's endpoints (discovery, authorize, token,
// keys, userinfo, ...).
func newHandler(issuer string, store *storage, log logr.Logger) (http.Handler, error) {
	var cryptoKey [32]byte
	// The key encrypts codes and access tokens, which live only in memory: a new one per start.
	if _, err := rand.Read(cryptoKey[:]); err != nil {
		return nil, fmt.Errorf("generating the token encryption key: %w", err)
	}
	config := &op.Config{
		CryptoKey:             cryptoKey,
		CodeMethodS256:        true,
		AuthMethodPost:        true,
		GrantTypeRefreshToken: true,
		SupportedScopes:       []string{oidc.ScopeOpenID, oidc.ScopeProfile, oidc.ScopeEmail, scopeGroups, oidc.ScopeOfflineAccess},
		SupportedClaims:       append(append([]string{}, op.DefaultSupportedClaims...), claimGroups),
	}
	provider, err := op.NewProvider(config, store, op.StaticIssuer(issuer))
	if err != nil {
		return nil, fmt.Errorf("dev OIDC provider: %w", err)
	}
	login := &loginHandler{
		storage: store,
		log:     log,
		callbackURL: func(r *http.Request, id string) string {
			return op.AuthCallbackURL(provider)(r.Context(), id)
		},
	}
	mux := http.NewServeMux()
	// The interceptor puts the issuer into the request context, where AuthCallbackURL reads it.
	mux.Handle(loginPath, op.NewIssuerInterceptor(provider.IssuerFromRequest).Handler(login))
	mux.Handle("/", provider)
	return mux, nil
}

func (s *Server) serve(listener net.Listener) {
	defer close(s.served)
	if err := s.http.Serve(listener); !errors.Is(err, http.ErrServerClosed) {
		s.serveErr = fmt.Errorf("dev OIDC serving: %w", err)
		s.log.Error(err, "Dev OIDC provider stopped serving")
	}
}

func (s *Server) stopWhenDone(ctx context.Context) {
	select {
	case <-ctx.Done():
		if err := s.Stop(); err != nil {
			s.log.Error(err, "Stopping the dev OIDC provider")
		}
	case <-s.served:
	}
}

// IssuerURL is the issuer: https://<first hostname>:<port>, without a trailing slash. Discovery is
// at IssuerURL()+"/.well-known/openid-configuration".
func (s *Server) IssuerURL() string { return s.issuer }

// CACertPEM is the PEM certificate of the CA that signed the serving certificate: what a client
// (or kube-apiserver's AuthenticationConfiguration certificateAuthority) must trust.
func (s *Server) CACertPEM() []byte { return append([]byte(nil), s.caPEM...) }

// Stop closes the listener and waits (a few seconds at most) for requests in flight. It returns
// the error that made the server stop serving on its own, if that happened first. Calling it
// again returns the same result.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		if err := s.http.Shutdown(ctx); err != nil {
			s.stopErr = fmt.Errorf("shutting down the dev OIDC provider: %w", err)
		}
		<-s.served
		if s.stopErr == nil {
			s.stopErr = s.serveErr
		}
	})
	return s.stopErr
}
