package servers

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// KubeOptions configure an envtest Kubernetes cluster.
type KubeOptions struct {
	// EtcdDataDir keeps etcd's data across restarts; empty means a temporary folder.
	EtcdDataDir string
	// SecurePort of the kube-apiserver; 0 picks a free one.
	SecurePort int
	// CertDir keeps the serving certificate, its CA and the ServiceAccount signing key across
	// restarts (with SecurePort and EtcdDataDir, a restarted cluster is the same cluster to its
	// clients: credentials it issued, such as ServiceAccount tokens, stay valid); empty means a
	// temporary folder and new keys on every start.
	CertDir string
	// StartTimeout bounds the start of etcd and kube-apiserver (default 2 minutes).
	StartTimeout time.Duration
	// CRDPaths are files or folders of CRD manifests installed (and waited for) after start.
	CRDPaths []string
	// AuthenticationConfig is an apiserver.config.k8s.io/v1 AuthenticationConfiguration (YAML)
	// passed as --authentication-config, e.g. to trust an OIDC issuer.
	AuthenticationConfig []byte
}

// Kube is a running kube-apiserver with its etcd, started through envtest.
type Kube struct {
	env *envtest.Environment
	// authnConfig is the --authentication-config file, removed at Stop.
	authnConfig string
}

// StartKube starts etcd and kube-apiserver from bin/tools and returns once the API server serves.
func StartKube(opts KubeOptions) (*Kube, error) {
	for _, name := range []string{"kube-apiserver", "etcd"} {
		if _, err := ToolPath(name); err != nil {
			return nil, err
		}
	}
	dir, err := ToolsDir()
	if err != nil {
		return nil, err
	}
	if opts.StartTimeout == 0 {
		opts.StartTimeout = 2 * time.Minute
	}
	env := &envtest.Environment{
		BinaryAssetsDirectory:    dir,
		ControlPlaneStartTimeout: opts.StartTimeout,
		ControlPlaneStopTimeout:  30 * time.Second,
		CRDDirectoryPaths:        opts.CRDPaths,
		ErrorIfCRDPathMissing:    true,
	}
	if opts.EtcdDataDir != "" {
		if err := os.MkdirAll(opts.EtcdDataDir, 0o700); err != nil {
			return nil, err
		}
		env.ControlPlane.Etcd = &envtest.Etcd{DataDir: opts.EtcdDataDir}
	}
	if opts.SecurePort != 0 {
		env.ControlPlane.GetAPIServer().SecurePort = opts.SecurePort
	}
	if opts.CertDir != "" {
		if err := keepCerts(env, opts.CertDir); err != nil {
			return nil, err
		}
	}
	authnConfig := ""
	if len(opts.AuthenticationConfig) > 0 {
		if authnConfig, err = setAuthenticationConfig(env, opts.AuthenticationConfig); err != nil {
			return nil, err
		}
	}
	if _, err := env.Start(); err != nil {
		return nil, fmt.Errorf("starting kube-apiserver and etcd: %w", err)
	}
	if opts.CertDir != "" {
		if err := os.WriteFile(filepath.Join(opts.CertDir, servingCAFile), env.ControlPlane.GetAPIServer().SecureServing.CA, 0o600); err != nil {
			_ = env.Stop()
			return nil, err
		}
	}
	return &Kube{env: env, authnConfig: authnConfig}, nil
}

// servingCAFile is where keepCerts keeps the CA of the serving certificate: envtest writes the
// certificate and the signing keys into the cert dir but keeps the CA only in memory.
const servingCAFile = "serving-ca.crt"

// keepCerts points envtest at dir for the kube-apiserver's certificates. envtest generates them
// when dir has none and reuses them otherwise; for reuse it must be told the CA it no longer
// generates, which the first start saved next to them.
func keepCerts(env *envtest.Environment, dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	apiServer := env.ControlPlane.GetAPIServer()
	apiServer.CertDir = dir
	ca, err := os.ReadFile(filepath.Join(dir, servingCAFile))
	switch {
	case err == nil:
		apiServer.SecureServing.CA = ca
	case os.IsNotExist(err):
		// No CA saved: a first start, or one that failed before it saved the CA. Certificates
		// left without their CA are of no use; envtest makes new ones when none are there.
		_ = os.Remove(filepath.Join(dir, "apiserver.crt"))
	default:
		return err
	}
	return nil
}

// setAuthenticationConfig writes the configuration where the kube-apiserver reads it; the file
// lives as long as the server, which reloads it when it changes.
func setAuthenticationConfig(env *envtest.Environment, config []byte) (string, error) {
	f, err := os.CreateTemp("", "bindery-authn-*.yaml")
	if err != nil {
		return "", err
	}
	_, err = f.Write(config)
	if closeErr := f.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		return "", err
	}
	env.ControlPlane.GetAPIServer().Configure().Set("authentication-config", f.Name())
	return f.Name(), nil
}

// Config returns an admin rest.Config for the cluster.
func (k *Kube) Config() *rest.Config { return rest.CopyConfig(k.env.Config) }

// Kubeconfig returns an admin kubeconfig for the cluster.
func (k *Kube) Kubeconfig() []byte { return k.env.KubeConfig }

// Stop stops kube-apiserver and etcd and removes their temporary folders.
func (k *Kube) Stop() error {
	if k.authnConfig != "" {
		defer os.Remove(k.authnConfig)
	}
	return k.env.Stop()
}
