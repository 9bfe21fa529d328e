package servers

import (
	"fmt"
	"os"
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
	authnConfig := ""
	if len(opts.AuthenticationConfig) > 0 {
		if authnConfig, err = setAuthenticationConfig(env, opts.AuthenticationConfig); err != nil {
			return nil, err
		}
	}
	if _, err := env.Start(); err != nil {
		return nil, fmt.Errorf("starting kube-apiserver and etcd: %w", err)
	}
	return &Kube{env: env, authnConfig: authnConfig}, nil
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
