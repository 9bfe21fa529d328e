package servers

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// KCPOptions configure a kcp process. Zero values are replaced by working defaults.
type KCPOptions struct {
	// RootDir holds kcp's state (certificates, embedded etcd, admin.kubeconfig). Empty means a
	// fresh temporary folder that Stop removes.
	RootDir string
	// SecurePort, EtcdClientPort and EtcdPeerPort default to free ports on 127.0.0.1.
	SecurePort     int
	EtcdClientPort int
	EtcdPeerPort   int
	// LogPath receives kcp's stdout and stderr (default: <RootDir>/kcp.log).
	LogPath string
	// StartTimeout bounds the wait for /readyz (default: 3 minutes; kcp needs about 25 s here).
	StartTimeout time.Duration
	// ExtraArgs are appended to `kcp start`.
	ExtraArgs []string
}

// KCP is a running kcp process.
type KCP struct {
	opts       KCPOptions
	ownRootDir bool
	proc       *process
	stopOnce   sync.Once
	admin      *rest.Config
}

// StartKCP starts `kcp start` with the given options and waits until /readyz answers 200.
func StartKCP(ctx context.Context, opts KCPOptions) (*KCP, error) {
	binary, err := ToolPath("kcp")
	if err != nil {
		return nil, err
	}
	k := &KCP{opts: opts}
	if err := k.defaultOptions(); err != nil {
		return nil, err
	}
	ports := []int{k.opts.SecurePort, k.opts.EtcdClientPort, k.opts.EtcdPeerPort}
	if k.proc, err = startProcess("kcp", binary, k.opts.LogPath, ports, k.args()...); err != nil {
		return nil, err
	}
	readyCtx, cancel := context.WithTimeout(ctx, k.opts.StartTimeout)
	defer cancel()
	if err := k.proc.waitUntil(readyCtx, k.checkReady); err != nil {
		k.Stop()
		return nil, fmt.Errorf("kcp did not become ready: %w\n--- last lines of %s ---\n%s", err, k.opts.LogPath, k.LogTail(30))
	}
	return k, nil
}

func (k *KCP) defaultOptions() error {
	if k.opts.RootDir == "" {
		dir, err := os.MkdirTemp("", "bindery-kcp-")
		if err != nil {
			return err
		}
		k.opts.RootDir, k.ownRootDir = dir, true
	}
	if err := os.MkdirAll(k.opts.RootDir, 0o755); err != nil {
		return err
	}
	free, err := FreePorts(3)
	if err != nil {
		return err
	}
	for i, port := range []*int{&k.opts.SecurePort, &k.opts.EtcdClientPort, &k.opts.EtcdPeerPort} {
		if *port == 0 {
			*port = free[i]
		}
	}
	if k.opts.LogPath == "" {
		k.opts.LogPath = filepath.Join(k.opts.RootDir, "kcp.log")
	}
	if k.opts.StartTimeout == 0 {
		k.opts.StartTimeout = 3 * time.Minute
	}
	return nil
}

func (k *KCP) args() []string {
	args := []string{"start",
		"--root-directory", k.opts.RootDir,
		"--bind-address", "127.0.0.1",
		"--secure-port", strconv.Itoa(k.opts.SecurePort),
		"--embedded-etcd-client-port", strconv.Itoa(k.opts.EtcdClientPort),
		"--embedded-etcd-peer-port", strconv.Itoa(k.opts.EtcdPeerPort),
	}
	return append(args, k.opts.ExtraArgs...)
}

func (k *KCP) checkReady(ctx context.Context) error {
	// Read the kubeconfig on every check: when kcp restarts on an existing root directory it
	// rewrites admin.kubeconfig with a new token, and the old file answers 401 until then.
	cfg, err := loadBaseConfig(k.AdminKubeconfigPath())
	if err != nil {
		return err
	}
	if err := probe(ctx, cfg, "/readyz"); err != nil {
		return err
	}
	k.admin = cfg
	return nil
}

// loadBaseConfig reads a kubeconfig and strips any /clusters/<name> path from its server,
// yielding a config for the kcp server itself.
func loadBaseConfig(path string) (*rest.Config, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(cfg.Host)
	if err != nil {
		return nil, fmt.Errorf("parsing server of %s: %w", path, err)
	}
	u.Path = ""
	cfg.Host = u.String()
	return cfg, nil
}

// probe GETs a health path and returns nil on 200.
func probe(ctx context.Context, cfg *rest.Config, path string) error {
	client, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, cfg.Host+path, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s: %s", path, resp.Status, bytes.TrimSpace(body))
	}
	return nil
}

// AdminConfig returns a rest.Config for kcp's admin user, addressed at the server root:
// append /clusters/<path> to the host (see ClusterConfig) to talk to a workspace.
func (k *KCP) AdminConfig() *rest.Config { return rest.CopyConfig(k.admin) }

// ShardAdminConfig returns a rest.Config for kcp's shard admin (system:masters on the shard),
// addressed at the server root. Unlike the workspace admin of AdminConfig it may list and watch
// across all logical clusters at /clusters/*.
func (k *KCP) ShardAdminConfig() (*rest.Config, error) {
	kubeconfig, err := clientcmd.LoadFromFile(k.AdminKubeconfigPath())
	if err != nil {
		return nil, err
	}
	cfg, err := clientcmd.NewNonInteractiveClientConfig(*kubeconfig, "shard-base", nil, nil).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("reading context shard-base of %s: %w", k.AdminKubeconfigPath(), err)
	}
	return cfg, nil
}

// ClusterConfig returns the admin config scoped to a logical cluster path or name (e.g. "root:org").
func (k *KCP) ClusterConfig(cluster string) *rest.Config {
	cfg := k.AdminConfig()
	cfg.Host += "/clusters/" + cluster
	return cfg
}

// AdminKubeconfigPath is the kubeconfig kcp writes for its admin user.
func (k *KCP) AdminKubeconfigPath() string { return filepath.Join(k.opts.RootDir, "admin.kubeconfig") }

// LogPath is the file kcp's output goes to.
func (k *KCP) LogPath() string { return k.opts.LogPath }

// LogTail returns the last n lines of kcp's log.
func (k *KCP) LogTail(n int) string { return TailFile(k.opts.LogPath, n) }

// Stop terminates kcp (SIGTERM, then SIGKILL after 20 s) and removes a temporary root directory.
func (k *KCP) Stop() {
	k.stopOnce.Do(func() {
		k.proc.stop()
		if k.ownRootDir {
			_ = os.RemoveAll(k.opts.RootDir)
		}
	})
}

// FreePort asks the kernel for a free TCP port on 127.0.0.1.
func FreePort() (int, error) {
	ports, err := FreePorts(1)
	if err != nil {
		return 0, err
	}
	return ports[0], nil
}

// FreePorts returns n distinct free ports: all listeners stay open until every port is known, as
// the kernel may hand out a port again as soon as its listener closes.
func FreePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("finding a free port: %w", err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// TailFile returns the last n lines of a file, or what went wrong reading it.
func TailFile(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "(no log)"
		}
		return err.Error()
	}
	lines := bytes.Split(bytes.TrimRight(data, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}
