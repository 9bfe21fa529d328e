package backend

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/go-logr/logr"
	"github.com/kcp-dev/logicalcluster/v3"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/record"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/bindery-dev/bindery/pkg/bindprotocol"
	"github.com/bindery-dev/bindery/pkg/consumers"
	"github.com/bindery-dev/bindery/pkg/devoidc"
	"github.com/bindery-dev/bindery/pkg/kcpapis"
	"github.com/bindery-dev/bindery/pkg/seal"
	"github.com/bindery-dev/bindery/pkg/services"
)

// Defaults of Options.
const (
	DefaultNamespace       = "bindery-system"
	DefaultListenAddress   = "127.0.0.1:8443"
	DefaultSessionDuration = 12 * time.Hour
	DefaultCredentialTTL   = time.Hour
	// SessionKeySecret holds the key that seals sessions, in Options.Namespace; deleting it signs
	// everybody out at the next restart.
	SessionKeySecret = "bindery-backend-session"
	sessionKeyField  = "key"
	// DevOIDCClientID is the backend's client at its embedded issuer.
	DevOIDCClientID = "bindery-backend"
)

// Options configure bindery-backend.
type Options struct {
	// ProviderConfig reaches the provider cluster or, with Workspace set, the kcp workspace the
	// backend serves (its server URL names the workspace).
	ProviderConfig *rest.Config
	// Workspace is the path of the kcp workspace the backend serves instead of a provider
	// cluster: its Services offer APIs the workspace has bound, its Consumers live there, and
	// its RBAC decides who may bind. Empty for a provider cluster.
	Workspace logicalcluster.Path
	// Namespace holds the session key Secret and the leader election Lease.
	Namespace string
	// ListenAddress of the web page and API. Without TLS files it must be a loopback address.
	ListenAddress string
	// TLSCertFile and TLSKeyFile serve HTTPS; both or neither.
	TLSCertFile, TLSKeyFile string
	// ExternalURL is where browsers and CLIs reach the backend (default: from ListenAddress).
	ExternalURL string
	// Title names the provider on the web page.
	Title           string
	SessionDuration time.Duration
	CredentialTTL   time.Duration
	OIDC            OIDCOptions
	DevOIDC         DevOIDCOptions
	// ConsumerServerURL and ConsumerCAData are how consumers' konnectors reach the provider
	// cluster (default: ProviderConfig's host and CA).
	ConsumerServerURL string
	ConsumerCAData    []byte
	// OpaqueConsumerNames names new Consumers without the username (consumers.OpaqueName).
	OpaqueConsumerNames bool
	// LeaderElection lets several replicas serve, one running the controllers.
	LeaderElection bool
	// MetricsBindAddress and HealthProbeBindAddress; "0" disables.
	MetricsBindAddress     string
	HealthProbeBindAddress string
	Log                    logr.Logger
}

// DevOIDCOptions configure the embedded issuer of --dev-oidc.
type DevOIDCOptions struct {
	Enabled bool
	// Address the issuer listens at (default a free loopback port).
	Address string
	Users   []devoidc.User
	// ExtraClients are registered at the issuer besides the backend, e.g. a kubectl OIDC login
	// to the provider cluster that trusts the same issuer.
	ExtraClients []devoidc.Client
	// StateDir keeps the issuer's CA and signing key across restarts and receives its CA
	// certificate as ca.crt, for the provider's kube-apiserver to trust.
	StateDir string
}

// Validate checks what can be checked before connecting anywhere; errors name the flag.
func (o *Options) Validate() error {
	if o.ProviderConfig == nil {
		return errors.New("no provider cluster: --kubeconfig (or --kcp-kubeconfig for a kcp workspace) is required outside a cluster")
	}
	if (o.TLSCertFile == "") != (o.TLSKeyFile == "") {
		return errors.New("--tls-cert-file and --tls-private-key-file go together: set both or neither")
	}
	if o.TLSCertFile == "" {
		host, _, err := net.SplitHostPort(o.ListenAddress)
		if err != nil {
			return fmt.Errorf("--listen-address %q: %w", o.ListenAddress, err)
		}
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return fmt.Errorf("--listen-address %q: without --tls-cert-file the backend serves plain HTTP, which only a loopback address may; set --tls-cert-file and --tls-private-key-file", o.ListenAddress)
		}
	}
	if o.ExternalURL != "" {
		if u, err := url.Parse(o.ExternalURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return fmt.Errorf("--external-url %q must be an http(s) URL such as https://bind.example.com", o.ExternalURL)
		}
	}
	if o.DevOIDC.Enabled {
		if o.OIDC.IssuerURL != "" {
			return errors.New("--dev-oidc and --oidc-issuer-url exclude each other: the embedded issuer is the issuer")
		}
		if len(o.DevOIDC.Users) == 0 {
			return errors.New("--dev-oidc needs users: --dev-oidc-users alice:password or --dev-oidc-users-file")
		}
		return nil
	}
	switch {
	case o.OIDC.IssuerURL == "":
		return errors.New("--oidc-issuer-url is required (or --dev-oidc for the embedded development issuer)")
	case o.OIDC.ClientID == "":
		return errors.New("--oidc-client-id is required: the backend's client at the issuer")
	}
	if u, err := url.Parse(o.OIDC.IssuerURL); err != nil || u.Scheme != "https" {
		return fmt.Errorf("--oidc-issuer-url %q must be an https URL (kube-apiserver trusts only https issuers)", o.OIDC.IssuerURL)
	}
	return nil
}

func (o *Options) defaults() {
	if o.Namespace == "" {
		o.Namespace = DefaultNamespace
	}
	if o.ListenAddress == "" {
		o.ListenAddress = DefaultListenAddress
	}
	if o.SessionDuration == 0 {
		o.SessionDuration = DefaultSessionDuration
	}
	if o.CredentialTTL == 0 {
		o.CredentialTTL = DefaultCredentialTTL
	}
	if o.Title == "" {
		o.Title = "bindery"
	}
}

// Run serves the backend and runs its controllers until ctx ends.
func Run(ctx context.Context, opts Options) error {
	opts.defaults()
	log := opts.Log
	listener, err := net.Listen("tcp", opts.ListenAddress)
	if err != nil {
		return fmt.Errorf("--listen-address %s: %w", opts.ListenAddress, err)
	}
	external, err := externalURL(opts, listener.Addr())
	if err != nil {
		return err
	}
	if opts.DevOIDC.Enabled {
		if err := startDevOIDC(ctx, &opts, external); err != nil {
			return err
		}
	}
	key, err := sessionKey(ctx, opts.ProviderConfig, opts.Namespace)
	if err != nil {
		return err
	}
	mgr, err := ctrl.NewManager(opts.ProviderConfig, ctrl.Options{
		Scheme:                  Scheme,
		Logger:                  log,
		LeaderElection:          opts.LeaderElection,
		LeaderElectionID:        "bindery-backend",
		LeaderElectionNamespace: opts.Namespace,
		Metrics:                 metricsserver.Options{BindAddress: opts.MetricsBindAddress},
		HealthProbeBindAddress:  opts.HealthProbeBindAddress,
	})
	if err != nil {
		return fmt.Errorf("creating the controller manager: %w", err)
	}
	// Binds read what they write from the API server: one bind must see the Consumer the one
	// just before it created.
	direct, err := client.New(opts.ProviderConfig, client.Options{Scheme: Scheme})
	if err != nil {
		return err
	}
	apis, err := serviceAPIs(opts, mgr.GetClient(), direct)
	if err != nil {
		return err
	}
	recorder := mgr.GetEventRecorderFor("bindery-backend")
	provisioner := &consumers.Provisioner{Client: direct, APIs: apis.direct, Config: opts.ProviderConfig, ServerURL: opts.ConsumerServerURL,
		CAData: opts.ConsumerCAData, Recorder: recorder, OpaqueNames: opts.OpaqueConsumerNames}
	if err := setupControllers(mgr, apis.cached, recorder); err != nil {
		return err
	}
	server, err := NewServer(ServerOptions{ExternalURL: external, Title: opts.Title, SessionDuration: opts.SessionDuration,
		CredentialTTL: opts.CredentialTTL, OIDC: opts.OIDC, Workspace: opts.Workspace}, mgr.GetClient(), mgr.GetClient(), provisioner, key, log.WithName("http"))
	if err != nil {
		return err
	}
	if err := mgr.Add(&httpServer{listener: listener, handler: server.Handler(), tlsCert: opts.TLSCertFile, tlsKey: opts.TLSKeyFile, log: log}); err != nil {
		return err
	}
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return err
	}
	log.Info("bindery-backend serving", "url", external.String(), "issuer", opts.OIDC.IssuerURL, "provider", opts.ProviderConfig.Host, "workspace", opts.Workspace.String())
	return mgr.Start(ctx)
}

// apiSources are where Services find their APIs: for the controllers (through the cache) and for
// binds (from the API server, as binds read everything).
type apiSources struct{ cached, direct services.APIs }

// serviceAPIs are the provider cluster's CRDs (nil: the default), or the APIs the workspace has
// bound.
func serviceAPIs(opts Options, cached, direct client.Reader) (apiSources, error) {
	if opts.Workspace.Empty() {
		return apiSources{}, nil
	}
	fromCache, err := kcpapis.New(cached, opts.ProviderConfig)
	if err != nil {
		return apiSources{}, err
	}
	return apiSources{cached: fromCache, direct: &kcpapis.BoundAPIs{Reader: direct, Discovery: fromCache.Discovery}}, nil
}

func setupControllers(mgr ctrl.Manager, apis services.APIs, recorder record.EventRecorder) error {
	if err := (&services.Reconciler{Client: mgr.GetClient(), APIs: apis, Recorder: recorder}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("setting up the Service controller: %w", err)
	}
	if err := (&consumers.Reconciler{Client: mgr.GetClient(), APIs: apis, Recorder: recorder}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("setting up the Consumer controller: %w", err)
	}
	return nil
}

func externalURL(opts Options, addr net.Addr) (*url.URL, error) {
	if opts.ExternalURL != "" {
		return url.Parse(opts.ExternalURL)
	}
	scheme := "http"
	if opts.TLSCertFile != "" {
		scheme = "https"
	}
	return &url.URL{Scheme: scheme, Host: addr.String()}, nil
}

// startDevOIDC starts the embedded issuer and points opts.OIDC at it.
func startDevOIDC(ctx context.Context, opts *Options, external *url.URL) error {
	secret := randomString()
	certDir := ""
	if opts.DevOIDC.StateDir != "" {
		certDir = filepath.Join(opts.DevOIDC.StateDir, "keys")
	}
	issuer, err := devoidc.Start(ctx, devoidc.Options{
		Address: opts.DevOIDC.Address,
		Users:   opts.DevOIDC.Users,
		Clients: append([]devoidc.Client{{ID: DevOIDCClientID, Secret: secret, RedirectURIs: []string{external.JoinPath(bindprotocol.CallbackPath).String()}}},
			opts.DevOIDC.ExtraClients...),
		CertDir: certDir,
		Log:     opts.Log.WithName("dev-oidc"),
	})
	if err != nil {
		return fmt.Errorf("--dev-oidc: starting the embedded issuer: %w", err)
	}
	opts.OIDC.IssuerURL, opts.OIDC.ClientID, opts.OIDC.ClientSecret, opts.OIDC.CAData = issuer.IssuerURL(), DevOIDCClientID, secret, issuer.CACertPEM()
	caFile := ""
	if opts.DevOIDC.StateDir != "" {
		caFile = filepath.Join(opts.DevOIDC.StateDir, "ca.crt")
		if err := os.WriteFile(caFile, issuer.CACertPEM(), 0o644); err != nil {
			return fmt.Errorf("--dev-oidc-state-dir: %w", err)
		}
	}
	names := make([]string, 0, len(opts.DevOIDC.Users))
	for _, u := range opts.DevOIDC.Users {
		names = append(names, u.Username)
	}
	opts.Log.Info("embedded development issuer serving (not for production)", "issuer", issuer.IssuerURL(), "caFile", caFile, "users", names)
	return nil
}

// sessionKey reads the key that seals sessions from its Secret, creating it on first start.
func sessionKey(ctx context.Context, cfg *rest.Config, namespace string) ([]byte, error) {
	c, err := client.New(cfg, client.Options{Scheme: Scheme})
	if err != nil {
		return nil, err
	}
	for range 3 {
		var secret corev1.Secret
		err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: SessionKeySecret}, &secret)
		if err == nil {
			if key := secret.Data[sessionKeyField]; len(key) == seal.KeySize {
				return key, nil
			}
			return nil, fmt.Errorf("Secret %s/%s: data.%s must be %d random bytes; delete the Secret to have a new key made (everybody signs in again)", namespace, SessionKeySecret, sessionKeyField, seal.KeySize)
		}
		if !apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("reading the session key Secret %s/%s: %w", namespace, SessionKeySecret, err)
		}
		secret = corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: SessionKeySecret, Labels: map[string]string{"app.kubernetes.io/name": "bindery-backend"}},
			Data:       map[string][]byte{sessionKeyField: seal.NewKey()},
		}
		if err := c.Create(ctx, &secret); err == nil {
			return secret.Data[sessionKeyField], nil
		} else if !apierrors.IsAlreadyExists(err) { // another replica made it first: read theirs
			return nil, fmt.Errorf("creating the session key Secret %s/%s: %w", namespace, SessionKeySecret, err)
		}
	}
	return nil, fmt.Errorf("the session key Secret %s/%s keeps changing", namespace, SessionKeySecret)
}

// httpServer runs the web page and API inside the manager, on every replica.
type httpServer struct {
	listener        net.Listener
	handler         http.Handler
	tlsCert, tlsKey string
	log             logr.Logger
}

func (h *httpServer) NeedLeaderElection() bool { return false }

func (h *httpServer) Start(ctx context.Context) error {
	srv := &http.Server{Handler: h.handler, ReadHeaderTimeout: 10 * time.Second, TLSConfig: &tls.Config{MinVersion: tls.VersionTLS12}}
	errs := make(chan error, 1)
	go func() {
		if h.tlsCert != "" {
			errs <- srv.ServeTLS(h.listener, h.tlsCert, h.tlsKey)
		} else {
			errs <- srv.Serve(h.listener)
		}
	}()
	select {
	case err := <-errs:
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return srv.Shutdown(shutdown)
}
