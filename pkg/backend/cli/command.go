// Package cli is bindery-backend's command line: flags, their defaults and help, mapped onto
// backend.Options.
package cli

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/kcp-dev/logicalcluster/v3"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/bindery-dev/bindery/pkg/backend"
	"github.com/bindery-dev/bindery/pkg/devoidc"
	"github.com/bindery-dev/bindery/pkg/kcpconfig"
	"github.com/bindery-dev/bindery/pkg/logging"
	"github.com/bindery-dev/bindery/pkg/restconfig"
	"github.com/bindery-dev/bindery/pkg/version"
)

type flags struct {
	kubeconfig       string
	kcpKubeconfig    string
	workspace        string
	opts             backend.Options
	clientSecretFile string
	oidcCAFile       string
	scopes           string
	devUsers         string
	devUsersFile     string
	devClients       []string
	consumerCAFile   string
	zapOptions       zap.Options
	// set tells which flags were given: --opaque-consumer-names defaults by what is served.
	set *pflag.FlagSet
}

const opaqueNamesFlag = "opaque-consumer-names"

// NewCommand returns the bindery-backend command with its version subcommand.
func NewCommand() *cobra.Command {
	f := &flags{}
	cmd := &cobra.Command{
		Use:   "bindery-backend",
		Short: "Offer a provider cluster's Services to consumers in their own Kubernetes clusters",
		Long: `bindery-backend runs next to a provider's Kubernetes cluster and lets consumers bind the
provider's Services into their own clusters. A consumer signs in at the OIDC issuer that both sides
trust (the provider's kube-apiserver must trust it too, with the same claim mappings as the
--oidc-username-* and --oidc-groups-* flags); whether they may bind a Service is the provider's RBAC:
verb "bind" on services.bind.bindery.dev. A bind creates a Consumer with its own namespace,
ServiceAccount and Role on the provider cluster and returns a short-lived credential.

With --kcp-kubeconfig instead of --kubeconfig it serves a kcp workspace instead of a provider
cluster: the Services there offer APIs the workspace has bound through APIBindings, so that a team
extends its workspace into its own clusters; Consumers, their credentials and the "bind" permission
are the workspace's (kcp must trust the same issuer).

People use the web page at --external-url; kubectl bindery login|bind use the same backend.
--dev-oidc embeds a development issuer so that nothing external is needed. See docs/backend.md.`,
		Example: `  # with an external issuer (Keycloak, say)
  bindery-backend --kubeconfig provider.kubeconfig --external-url https://bind.example.com \
    --tls-cert-file tls.crt --tls-private-key-file tls.key --listen-address :8443 \
    --oidc-issuer-url https://keycloak.example.com/realms/provider --oidc-client-id bindery \
    --oidc-client-secret-file client-secret

  # for development, with the embedded issuer
  bindery-backend --kubeconfig provider.kubeconfig --dev-oidc --dev-oidc-users alice:wonderland \
    --dev-oidc-state-dir .bindery/dev-oidc

  # serving the kcp workspace root:team (the kubeconfig's server may name it instead of --workspace)
  bindery-backend --kcp-kubeconfig kcp.kubeconfig --workspace root:team --dev-oidc \
    --dev-oidc-users alice:wonderland --dev-oidc-state-dir .bindery/dev-oidc`,
		SilenceUsage: true,
		RunE:         func(cmd *cobra.Command, _ []string) error { return run(f) },
	}
	bindFlags(cmd, f)
	cmd.AddCommand(version.Command())
	return cmd
}

func bindFlags(cmd *cobra.Command, f *flags) {
	fs := cmd.Flags()
	f.set = fs
	o := &f.opts
	fs.StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig of the provider cluster (default: the in-cluster config)")
	fs.StringVar(&f.kcpKubeconfig, "kcp-kubeconfig", "", "kubeconfig of kcp: serve a kcp workspace instead of a provider cluster (excludes --kubeconfig)")
	fs.StringVar(&f.workspace, "workspace", "", "with --kcp-kubeconfig, the path of the workspace to serve, e.g. root:team (default: the workspace the kubeconfig's server URL names, .../clusters/<path>)")
	fs.StringVar(&o.Namespace, "namespace", backend.DefaultNamespace, "namespace of the provider cluster for the session key Secret and the leader election Lease")
	fs.StringVar(&o.ListenAddress, "listen-address", backend.DefaultListenAddress, "address of the web page and API; plain HTTP (no --tls-cert-file) only on a loopback address")
	fs.StringVar(&o.TLSCertFile, "tls-cert-file", "", "serving certificate (PEM) for HTTPS")
	fs.StringVar(&o.TLSKeyFile, "tls-private-key-file", "", "private key (PEM) of --tls-cert-file")
	fs.StringVar(&o.ExternalURL, "external-url", "", "URL where browsers and CLIs reach the backend; register <external-url>/callback at the issuer (default: from --listen-address)")
	fs.StringVar(&o.Title, "title", "bindery", "the provider's name on the web page")
	fs.DurationVar(&o.SessionDuration, "session-duration", backend.DefaultSessionDuration, "how long a sign-in lasts, in the browser and in kubectl bindery")
	fs.DurationVar(&o.CredentialTTL, "credential-ttl", backend.DefaultCredentialTTL, "lifetime of the ServiceAccount token a bind returns (the konnector renews it itself; minimum 10m)")
	fs.StringVar(&o.OIDC.IssuerURL, "oidc-issuer-url", "", "the OIDC issuer consumers sign in at (https); the provider's kube-apiserver must trust the same issuer")
	fs.StringVar(&o.OIDC.ClientID, "oidc-client-id", "", "the backend's client ID at the issuer")
	fs.StringVar(&f.clientSecretFile, "oidc-client-secret-file", "", "file holding the client secret (or set $BINDERY_OIDC_CLIENT_SECRET)")
	fs.StringVar(&f.oidcCAFile, "oidc-ca-file", "", "PEM CA bundle to trust for the issuer (default: the system's roots)")
	fs.StringVar(&f.scopes, "oidc-scopes", "email,profile,groups", "scopes asked for besides openid, comma-separated")
	fs.StringVar(&o.OIDC.Claims.UsernameClaim, "oidc-username-claim", backend.DefaultUsernameClaim, "claim that names the user; the same as claimMappings.username.claim of the provider's kube-apiserver")
	fs.StringVar(&o.OIDC.Claims.UsernamePrefix, "oidc-username-prefix", backend.DefaultUsernamePrefix, "prefix of usernames; the same as claimMappings.username.prefix")
	fs.StringVar(&o.OIDC.Claims.GroupsClaim, "oidc-groups-claim", backend.DefaultGroupsClaim, "claim holding the user's groups (empty: none); the same as claimMappings.groups.claim")
	fs.StringVar(&o.OIDC.Claims.GroupsPrefix, "oidc-groups-prefix", backend.DefaultGroupsPrefix, "prefix of groups; the same as claimMappings.groups.prefix")
	fs.BoolVar(&o.DevOIDC.Enabled, "dev-oidc", false, "embed a development OIDC issuer (TLS with its own CA, users from --dev-oidc-users); never for production")
	fs.StringVar(&o.DevOIDC.Address, "dev-oidc-address", "127.0.0.1:0", "listen address of the embedded issuer")
	fs.StringVar(&f.devUsers, "dev-oidc-users", "", "users of the embedded issuer: user:password[:group1;group2],...")
	fs.StringVar(&f.devUsersFile, "dev-oidc-users-file", "", "YAML or JSON list of users of the embedded issuer (username, password, email, name, groups)")
	fs.StringArrayVar(&f.devClients, "dev-oidc-extra-client", nil, "another client of the embedded issuer, id:secret:redirect-uri (repeatable), e.g. for a kubectl OIDC login to the provider cluster")
	fs.StringVar(&o.DevOIDC.StateDir, "dev-oidc-state-dir", "", "keeps the embedded issuer's CA and signing key across restarts and writes its CA to ca.crt there, for the provider's kube-apiserver to trust")
	fs.StringVar(&o.ConsumerServerURL, "consumer-server-url", "", "URL where consumers' konnectors reach the provider cluster (default: the --kubeconfig server)")
	fs.StringVar(&f.consumerCAFile, "consumer-ca-file", "", "CA bundle konnectors trust for --consumer-server-url (default: the --kubeconfig CA)")
	fs.BoolVar(&o.OpaqueConsumerNames, opaqueNamesFlag, false, "name new Consumers and their namespaces consumer-<hash>, without the username: for a reseller, whose Consumer namespaces' names travel on to its own provider in the copies' names and marks (default true with --kcp-kubeconfig: a workspace's objects travel on to the provider of the bound API)")
	fs.BoolVar(&o.LeaderElection, "leader-elect", false, "run the controllers on one replica at a time (every replica serves the page and API)")
	fs.StringVar(&o.MetricsBindAddress, "metrics-bind-address", ":8080", "address of the Prometheus metrics endpoint; 0 disables it")
	fs.StringVar(&o.HealthProbeBindAddress, "health-probe-bind-address", ":8081", "address of /healthz and /readyz; 0 disables them")
	logging.BindFlags(fs, &f.zapOptions)
}

func run(f *flags) error {
	log := zap.New(zap.UseFlagOptions(&f.zapOptions))
	ctrl.SetLogger(log)
	opts, err := f.options()
	if err != nil {
		return err
	}
	opts.Log = log
	if err := opts.Validate(); err != nil {
		return err
	}
	return backend.Run(ctrl.SetupSignalHandler(), opts)
}

// options completes backend.Options from the flags that name files.
func (f *flags) options() (backend.Options, error) {
	o := f.opts
	var err error
	if o.ProviderConfig, o.Workspace, err = f.target(); err != nil {
		return o, err
	}
	if !f.set.Changed(opaqueNamesFlag) && !o.Workspace.Empty() {
		o.OpaqueConsumerNames = true
	}
	if o.OIDC.ClientSecret, err = clientSecret(f.clientSecretFile); err != nil {
		return o, err
	}
	if f.oidcCAFile != "" {
		if o.OIDC.CAData, err = os.ReadFile(f.oidcCAFile); err != nil {
			return o, fmt.Errorf("--oidc-ca-file: %w", err)
		}
	}
	if f.consumerCAFile != "" {
		if o.ConsumerCAData, err = os.ReadFile(f.consumerCAFile); err != nil {
			return o, fmt.Errorf("--consumer-ca-file: %w", err)
		}
	}
	for _, s := range strings.Split(f.scopes, ",") {
		if s = strings.TrimSpace(s); s != "" {
			o.OIDC.Scopes = append(o.OIDC.Scopes, s)
		}
	}
	if o.CredentialTTL < 10*time.Minute {
		return o, fmt.Errorf("--credential-ttl %s: the kube-apiserver issues tokens for at least 10m", o.CredentialTTL)
	}
	if o.DevOIDC.Users, err = devUsers(f.devUsers, f.devUsersFile); err != nil {
		return o, err
	}
	o.DevOIDC.ExtraClients, err = devClients(f.devClients)
	return o, err
}

// target is the provider cluster or the kcp workspace the backend serves, with the workspace's
// path (empty for a cluster).
func (f *flags) target() (*rest.Config, logicalcluster.Path, error) {
	if f.kcpKubeconfig == "" {
		if f.workspace != "" {
			return nil, logicalcluster.Path{}, errors.New("--workspace names a kcp workspace: give kcp's kubeconfig with --kcp-kubeconfig")
		}
		cfg, err := restconfig.FromKubeconfigOrCluster(f.kubeconfig)
		return cfg, logicalcluster.Path{}, err
	}
	if f.kubeconfig != "" {
		return nil, logicalcluster.Path{}, errors.New("--kubeconfig and --kcp-kubeconfig exclude each other: the backend serves either a provider cluster or a kcp workspace")
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", f.kcpKubeconfig)
	if err != nil {
		return nil, logicalcluster.Path{}, fmt.Errorf("--kcp-kubeconfig %s: %w", f.kcpKubeconfig, err)
	}
	if f.workspace != "" {
		path := logicalcluster.NewPath(f.workspace)
		if !path.IsValid() {
			return nil, logicalcluster.Path{}, fmt.Errorf("--workspace %q is no workspace path (like root:team)", f.workspace)
		}
		cfg, err = kcpconfig.ForWorkspace(cfg, path)
		return cfg, path, err
	}
	path, ok, err := kcpconfig.Workspace(cfg)
	if err != nil {
		return nil, logicalcluster.Path{}, fmt.Errorf("--kcp-kubeconfig %s: server %q: %w", f.kcpKubeconfig, cfg.Host, err)
	}
	if !ok {
		return nil, logicalcluster.Path{}, fmt.Errorf("--kcp-kubeconfig %s: its server %s names no workspace (.../clusters/<path>); set --workspace", f.kcpKubeconfig, cfg.Host)
	}
	return cfg, path, nil
}

func devClients(specs []string) ([]devoidc.Client, error) {
	var clients []devoidc.Client
	for _, spec := range specs {
		parts := strings.SplitN(spec, ":", 3)
		if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
			return nil, fmt.Errorf("--dev-oidc-extra-client %q: want id:secret:redirect-uri", spec)
		}
		clients = append(clients, devoidc.Client{ID: parts[0], Secret: parts[1], RedirectURIs: []string{parts[2]}})
	}
	return clients, nil
}

func clientSecret(file string) (string, error) {
	if file == "" {
		return os.Getenv("BINDERY_OIDC_CLIENT_SECRET"), nil
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("--oidc-client-secret-file: %w", err)
	}
	return strings.TrimSpace(string(data)), nil
}

func devUsers(spec, file string) ([]devoidc.User, error) {
	var users []devoidc.User
	if spec != "" {
		parsed, err := devoidc.ParseUsers(spec)
		if err != nil {
			return nil, fmt.Errorf("--dev-oidc-users: %w", err)
		}
		users = append(users, parsed...)
	}
	if file != "" {
		loaded, err := devoidc.LoadUsers(file)
		if err != nil {
			return nil, fmt.Errorf("--dev-oidc-users-file: %w", err)
		}
		users = append(users, loaded...)
	}
	return users, nil
}
