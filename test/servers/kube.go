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
}

// Kube is a running kube-apiserver with its etcd, started through envtest.
type Kube struct {
	env *envtest.Environment
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
	if _, err := env.Start(); err != nil {
		return nil, fmt.Errorf("starting kube-apiserver and etcd: %w", err)
	}
	return &Kube{env: env}, nil
}

// Config returns an admin rest.Config for the cluster.
func (k *Kube) Config() *rest.Config { return rest.CopyConfig(k.env.Config) }

// Kubeconfig returns an admin kubeconfig for the cluster.
func (k *Kube) Kubeconfig() []byte { return k.env.KubeConfig }

// Stop stops kube-apiserver and etcd and removes their temporary folders.
func (k *Kube) Stop() error { return k.env.Stop() }
