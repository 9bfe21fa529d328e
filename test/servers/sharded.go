package servers

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/yaml"
)

// ShardLabel is the label StartShardedKCP puts on every Shard object, valued with the shard's
// name. A Workspace whose spec.location.selector matches it is scheduled onto that shard.
const ShardLabel = "bindery.dev/shard"

// RootShard is the name of the root shard; the others are shard-1, shard-2, ...
const RootShard = "root"

// ShardedKCPOptions configure a sharded kcp. Zero values are replaced by working defaults.
type ShardedKCPOptions struct {
	// Shards is the number of kcp shards, the root shard included (default 2: root and shard-1).
	Shards int
	// RootDir holds every component's state, certificates, kubeconfigs and logs. Empty means a
	// fresh temporary folder that Stop removes.
	RootDir string
	// StartTimeout bounds the start of the whole set (default: 6 minutes).
	StartTimeout time.Duration
	// ShardArgs are appended to `kcp start` of every shard.
	ShardArgs []string
}

// ShardedKCP is a running sharded kcp: a cache server, the root shard, further shards and a
// front-proxy in front of them, each its own process from bin/tools, with certificates made by
// StartShardedKCP. Users reach workspaces through the front-proxy (AdminConfig, ClusterConfig);
// wildcard requests and virtual workspaces are served by each shard (Shard.AdminConfig,
// Shard.URL).
type ShardedKCP struct {
	opts       ShardedKCPOptions
	ownRootDir bool
	pki        *shardedPKI
	cache      *process
	shards     []*Shard
	proxy      *process
	proxyURL   string
	stopOnce   sync.Once
}

// Shard is one kcp shard of a ShardedKCP.
type Shard struct {
	// Name is the shard's name, also its Shard object's name in the root workspace.
	Name string
	// URL is the shard's base URL (https://127.0.0.1:<port>); its virtual workspaces, and so the
	// endpoint slice URLs of exports bound on it, are served there too.
	URL  string
	proc *process
	pki  *shardedPKI
}

// shardedPKI holds the paths of the certificates and keys of a sharded kcp.
type shardedPKI struct {
	dir                       string
	servingCA                 string
	clientCA                  string
	requestHeaderCA           string
	servingCert, servingKey   string
	adminCert, adminKey       string // kcp-admin, group system:kcp:admin: a user of the front-proxy
	shardCert, shardKey       string // group system:masters: shard admin, cache client, shard peer
	lcAdminCert, lcAdminKey   string // system:kcp:logical-cluster-admin, shard to shard
	extAdminCert, extAdminKey string // system:kcp:external-logical-cluster-admin, through the proxy
	proxyCert, proxyKey       string // the front-proxy's request header client certificate
	serviceAccountKey         string
}

// StartShardedKCP starts a cache server, the root shard, opts.Shards-1 further shards and a
// front-proxy, all on free ports of 127.0.0.1, waits until each answers /readyz, and labels every
// Shard object with ShardLabel. On error everything started so far is stopped again.
func StartShardedKCP(ctx context.Context, opts ShardedKCPOptions) (_ *ShardedKCP, err error) {
	binaries := map[string]string{}
	for _, name := range []string{"kcp", "kcp-front-proxy", "cache-server"} {
		if binaries[name], err = ToolPath(name); err != nil {
			return nil, err
		}
	}
	k := &ShardedKCP{opts: opts}
	if err := k.defaultOptions(); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			tails := k.LogTails(30)
			k.Stop()
			err = fmt.Errorf("%w\n%s", err, tails)
		}
	}()
	ctx, cancel := context.WithTimeout(ctx, k.opts.StartTimeout)
	defer cancel()

	n := k.opts.Shards
	ports, err := FreePorts(3 + 3*n + 1)
	if err != nil {
		return nil, err
	}
	cachePorts, proxyPort := ports[0:3], ports[len(ports)-1]
	k.proxyURL = "https://127.0.0.1:" + strconv.Itoa(proxyPort)
	cacheURL := "https://127.0.0.1:" + strconv.Itoa(cachePorts[0])
	for i := range n {
		name := RootShard
		if i > 0 {
			name = "shard-" + strconv.Itoa(i)
		}
		k.shards = append(k.shards, &Shard{Name: name, URL: "https://127.0.0.1:" + strconv.Itoa(ports[3+3*i])})
	}
	if k.pki, err = newShardedPKI(filepath.Join(k.opts.RootDir, "pki")); err != nil {
		return nil, fmt.Errorf("making certificates: %w", err)
	}
	for _, s := range k.shards {
		s.pki = k.pki
	}
	kubeconfigs, err := k.writeKubeconfigs(cacheURL)
	if err != nil {
		return nil, err
	}

	// The cache server holds what shards share (APIExports, schemas, workspace types).
	k.cache, err = startProcess("the cache server", binaries["cache-server"], filepath.Join(k.opts.RootDir, "cache.log"), cachePorts,
		// cache-server reads --root-directory only in this form, before its other flags.
		"--root-directory="+filepath.Join(k.opts.RootDir, "cache"),
		"--bind-address", "127.0.0.1",
		"--secure-port", strconv.Itoa(cachePorts[0]),
		"--embedded-etcd-client-port", strconv.Itoa(cachePorts[1]),
		"--embedded-etcd-peer-port", strconv.Itoa(cachePorts[2]),
		"--client-ca-file", k.pki.clientCA,
		"--tls-cert-file", k.pki.servingCert, "--tls-private-key-file", k.pki.servingKey,
	)
	if err != nil {
		return nil, err
	}
	if err := k.cache.waitReady(ctx, k.pki.config(cacheURL, k.pki.shardCert, k.pki.shardKey)); err != nil {
		return nil, err
	}

	// All shards start at once, as in kcp's sharded-test-server: the others register with the
	// root shard and read kcp's own export identities from it, retrying until it serves.
	for i, s := range k.shards {
		args := k.shardArgs(i, s, ports[3+3*i:6+3*i], kubeconfigs)
		if s.proc, err = startProcess("kcp shard "+s.Name, binaries["kcp"], filepath.Join(k.opts.RootDir, s.Name+".log"), ports[3+3*i:6+3*i], args...); err != nil {
			return nil, err
		}
	}
	for _, s := range k.shards {
		if err := s.proc.waitReady(ctx, s.AdminConfig()); err != nil {
			return nil, err
		}
	}

	proxyArgs, err := k.frontProxyArgs(proxyPort, kubeconfigs)
	if err != nil {
		return nil, err
	}
	k.proxy, err = startProcess("the front-proxy", binaries["kcp-front-proxy"], filepath.Join(k.opts.RootDir, "front-proxy.log"), []int{proxyPort}, proxyArgs...)
	if err != nil {
		return nil, err
	}
	if err := k.proxy.waitReady(ctx, k.AdminConfig()); err != nil {
		return nil, err
	}
	if err := k.labelShards(ctx); err != nil {
		return nil, err
	}
	return k, nil
}

func (k *ShardedKCP) defaultOptions() error {
	if k.opts.Shards == 0 {
		k.opts.Shards = 2
	}
	if k.opts.Shards < 1 {
		return fmt.Errorf("ShardedKCPOptions.Shards is %d; a sharded kcp needs at least the root shard", k.opts.Shards)
	}
	if k.opts.StartTimeout == 0 {
		k.opts.StartTimeout = 6 * time.Minute
	}
	if k.opts.RootDir == "" {
		dir, err := os.MkdirTemp("", "bindery-sharded-kcp-")
		if err != nil {
			return err
		}
		k.opts.RootDir, k.ownRootDir = dir, true
	}
	return os.MkdirAll(k.opts.RootDir, 0o755)
}

func newShardedPKI(dir string) (*shardedPKI, error) {
	p := &shardedPKI{dir: dir}
	serving, err := newCertAuthority(dir, "serving-ca", "bindery-test-kcp-serving-ca")
	if err != nil {
		return nil, err
	}
	clients, err := newCertAuthority(dir, "client-ca", "bindery-test-kcp-client-ca")
	if err != nil {
		return nil, err
	}
	requestHeader, err := newCertAuthority(dir, "requestheader-ca", "bindery-test-kcp-requestheader-ca")
	if err != nil {
		return nil, err
	}
	p.servingCA, p.clientCA, p.requestHeaderCA = serving.path, clients.path, requestHeader.path
	if p.servingCert, p.servingKey, err = serving.serverCert(dir, "serving"); err != nil {
		return nil, err
	}
	// Each client certificate is named after its user; the groups decide what it may do.
	clientCerts := []struct {
		ca          *certAuthority
		cert, key   *string
		user, group string
	}{
		{clients, &p.adminCert, &p.adminKey, "kcp-admin", "system:kcp:admin"},
		{clients, &p.shardCert, &p.shardKey, "shard-admin", "system:masters"},
		{clients, &p.lcAdminCert, &p.lcAdminKey, "logical-cluster-admin", "system:kcp:logical-cluster-admin"},
		{clients, &p.extAdminCert, &p.extAdminKey, "external-logical-cluster-admin", "system:kcp:external-logical-cluster-admin"},
		{requestHeader, &p.proxyCert, &p.proxyKey, "kcp-front-proxy", ""},
	}
	for _, c := range clientCerts {
		var groups []string
		if c.group != "" {
			groups = []string{c.group}
		}
		if *c.cert, *c.key, err = c.ca.clientCert(dir, c.user, c.user, groups...); err != nil {
			return nil, err
		}
	}
	if p.serviceAccountKey, err = writeRSAKey(dir, "service-account"); err != nil {
		return nil, err
	}
	return p, nil
}

// config is a rest.Config for host with a client certificate, trusting the serving CA.
func (p *shardedPKI) config(host, cert, key string) *rest.Config {
	return &rest.Config{Host: host, TLSClientConfig: rest.TLSClientConfig{CAFile: p.servingCA, CertFile: cert, KeyFile: key}}
}

// kubeconfigPaths are the kubeconfigs the components read.
type kubeconfigPaths struct {
	cache, rootShard, logicalClusterAdmin, externalLogicalClusterAdmin, shards, admin string
}

func (k *ShardedKCP) writeKubeconfigs(cacheURL string) (kubeconfigPaths, error) {
	dir := filepath.Join(k.opts.RootDir, "kubeconfigs")
	p := k.pki
	paths := kubeconfigPaths{
		cache:                       filepath.Join(dir, "cache.kubeconfig"),
		rootShard:                   filepath.Join(dir, "root-shard.kubeconfig"),
		logicalClusterAdmin:         filepath.Join(dir, "logical-cluster-admin.kubeconfig"),
		externalLogicalClusterAdmin: filepath.Join(dir, "external-logical-cluster-admin.kubeconfig"),
		shards:                      filepath.Join(dir, "shards.kubeconfig"),
		admin:                       k.AdminKubeconfigPath(),
	}
	root := k.shards[0].URL
	files := []struct {
		path, server, cert, key string
		contexts                []string
	}{
		{paths.cache, cacheURL, p.shardCert, p.shardKey, []string{"cache"}},
		// kcp reads the root shard's kubeconfig in its context shard-base.
		{paths.rootShard, root, p.shardCert, p.shardKey, []string{"shard-base"}},
		{paths.logicalClusterAdmin, root, p.lcAdminCert, p.lcAdminKey, []string{"base"}},
		{paths.externalLogicalClusterAdmin, k.proxyURL, p.extAdminCert, p.extAdminKey, []string{"base"}},
		// The front-proxy replaces the (empty) server with each shard's URL.
		{paths.shards, "", p.shardCert, p.shardKey, []string{"base"}},
		{paths.admin, k.proxyURL, p.adminCert, p.adminKey, []string{"base"}},
	}
	for _, f := range files {
		if err := writeCertKubeconfig(f.path, f.server, p.servingCA, f.cert, f.key, f.contexts[0]); err != nil {
			return paths, err
		}
	}
	return paths, nil
}

// writeCertKubeconfig writes a kubeconfig with one cluster, one client certificate user and one
// context, the current one.
func writeCertKubeconfig(path, server, ca, cert, key, context string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["kcp"] = &clientcmdapi.Cluster{Server: server, CertificateAuthority: ca}
	cfg.AuthInfos["user"] = &clientcmdapi.AuthInfo{ClientCertificate: cert, ClientKey: key}
	cfg.Contexts[context] = &clientcmdapi.Context{Cluster: "kcp", AuthInfo: "user"}
	cfg.CurrentContext = context
	return clientcmd.WriteToFile(*cfg, path)
}

// shardArgs are the flags of `kcp start` for shard i; ports are its secure, etcd client and etcd
// peer ports. They follow kcp's cmd/sharded-test-server.
func (k *ShardedKCP) shardArgs(i int, s *Shard, ports []int, kc kubeconfigPaths) []string {
	p := k.pki
	args := []string{"start",
		"--root-directory", filepath.Join(k.opts.RootDir, s.Name),
		"--bind-address", "127.0.0.1",
		"--secure-port", strconv.Itoa(ports[0]),
		"--embedded-etcd-client-port", strconv.Itoa(ports[1]),
		"--embedded-etcd-peer-port", strconv.Itoa(ports[2]),
		"--shard-name", s.Name,
		"--shard-base-url", s.URL,
		// Users and workspace URLs go through the front-proxy.
		"--shard-external-url", k.proxyURL,
		"--cache-kubeconfig", kc.cache,
		"--client-ca-file", p.clientCA,
		"--requestheader-client-ca-file", p.requestHeaderCA,
		"--requestheader-username-headers", "X-Remote-User",
		"--requestheader-group-headers", "X-Remote-Group",
		"--requestheader-extra-headers-prefix", "X-Remote-Extra-",
		"--service-account-key-file", p.serviceAccountKey,
		"--service-account-private-key-file", p.serviceAccountKey,
		"--service-account-signing-key-file", p.serviceAccountKey,
		"--tls-cert-file", p.servingCert, "--tls-private-key-file", p.servingKey,
		"--logical-cluster-admin-kubeconfig", kc.logicalClusterAdmin,
		"--external-logical-cluster-admin-kubeconfig", kc.externalLogicalClusterAdmin,
		"--shard-client-cert-file", p.shardCert, "--shard-client-key-file", p.shardKey,
		"--shard-virtual-workspace-ca-file", p.servingCA,
	}
	if i > 0 {
		args = append(args, "--root-shard-kubeconfig-file", kc.rootShard)
	}
	return append(args, k.opts.ShardArgs...)
}

// frontProxyMapping is one entry of the front-proxy's --mapping-file (kcp's
// pkg/server/proxy/types.PathMapping).
type frontProxyMapping struct {
	Path            string `json:"path"`
	Backend         string `json:"backend"`
	BackendServerCA string `json:"backend_server_ca"`
	ProxyClientCert string `json:"proxy_client_cert"`
	ProxyClientKey  string `json:"proxy_client_key"`
}

func (k *ShardedKCP) frontProxyArgs(port int, kc kubeconfigPaths) ([]string, error) {
	p := k.pki
	dir := filepath.Join(k.opts.RootDir, "front-proxy")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	root := k.shards[0].URL
	// /clusters/ is routed by the shard that holds each logical cluster (the proxy watches the
	// Shards); the backend here is only the fallback. /services/ (virtual workspaces) goes to
	// one backend only: each shard serves its own, and endpoint slices name the shards directly.
	mappings := []frontProxyMapping{
		{Path: "/services/", Backend: root, BackendServerCA: p.servingCA, ProxyClientCert: p.proxyCert, ProxyClientKey: p.proxyKey},
		{Path: "/clusters/", Backend: root, BackendServerCA: p.servingCA, ProxyClientCert: p.proxyCert, ProxyClientKey: p.proxyKey},
	}
	data, err := yaml.Marshal(mappings)
	if err != nil {
		return nil, err
	}
	mappingFile := filepath.Join(dir, "mapping.yaml")
	if err := os.WriteFile(mappingFile, data, 0o644); err != nil {
		return nil, err
	}
	return []string{
		"--bind-address", "127.0.0.1",
		"--secure-port", strconv.Itoa(port),
		"--root-directory", dir,
		"--mapping-file", mappingFile,
		"--root-kubeconfig", kc.rootShard,
		"--shards-kubeconfig", kc.shards,
		"--client-ca-file", p.clientCA,
		"--tls-cert-file", p.servingCert, "--tls-private-key-file", p.servingKey,
	}, nil
}

// labelShards waits until every shard has registered its Shard object in the root workspace and
// labels it with ShardLabel=<name>.
func (k *ShardedKCP) labelShards(ctx context.Context) error {
	cfg := k.shards[0].AdminConfig()
	client, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return err
	}
	for _, s := range k.shards {
		url := cfg.Host + "/clusters/root/apis/core.kcp.io/v1alpha1/shards/" + s.Name
		patch := fmt.Sprintf(`{"metadata":{"labels":{%q:%q}}}`, ShardLabel, s.Name)
		var last error
		for {
			if last = doRequest(ctx, client, http.MethodPatch, url, "application/merge-patch+json", patch); last == nil {
				break
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("labelling Shard %s in the root workspace: %w (last: %v)", s.Name, ctx.Err(), last)
			case <-time.After(250 * time.Millisecond):
			}
		}
	}
	return nil
}

func doRequest(ctx context.Context, client *http.Client, method, url, contentType, body string) error {
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", contentType)
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s: %s", method, url, resp.Status, strings.TrimSpace(string(data)))
	}
	return nil
}

// AdminConfig returns a rest.Config for the kcp-admin user (group system:kcp:admin) at the
// front-proxy's root: append /clusters/<path> (see ClusterConfig) to reach a workspace on any
// shard.
func (k *ShardedKCP) AdminConfig() *rest.Config {
	return k.pki.config(k.proxyURL, k.pki.adminCert, k.pki.adminKey)
}

// ClusterConfig returns the admin config scoped to a workspace path or logical cluster name,
// through the front-proxy.
func (k *ShardedKCP) ClusterConfig(cluster string) *rest.Config {
	cfg := k.AdminConfig()
	cfg.Host += "/clusters/" + cluster
	return cfg
}

// AdminKubeconfigPath is a kubeconfig with the credentials of AdminConfig (context base).
func (k *ShardedKCP) AdminKubeconfigPath() string {
	return filepath.Join(k.opts.RootDir, "kubeconfigs", "admin.kubeconfig")
}

// FrontProxyURL is the front-proxy's base URL, every shard's external URL.
func (k *ShardedKCP) FrontProxyURL() string { return k.proxyURL }

// Shards returns the shards, the root shard first.
func (k *ShardedKCP) Shards() []*Shard { return k.shards }

// Shard returns the shard of that name, or nil.
func (k *ShardedKCP) Shard(name string) *Shard {
	for _, s := range k.shards {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// LogTails returns the last n lines of every component's log, each under a heading.
func (k *ShardedKCP) LogTails(n int) string {
	var b strings.Builder
	for _, p := range k.processes() {
		fmt.Fprintf(&b, "--- last lines of %s (%s) ---\n%s\n", p.name, p.log, p.logTail(n))
	}
	return b.String()
}

func (k *ShardedKCP) processes() []*process {
	var all []*process
	if k.proxy != nil {
		all = append(all, k.proxy)
	}
	for _, s := range k.shards {
		if s.proc != nil {
			all = append(all, s.proc)
		}
	}
	if k.cache != nil {
		all = append(all, k.cache)
	}
	return all
}

// Stop stops the front-proxy, the shards (the root shard last) and the cache server, each with
// SIGTERM and SIGKILL after 20 s, and removes a temporary root directory.
func (k *ShardedKCP) Stop() {
	k.stopOnce.Do(func() {
		if k.proxy != nil {
			k.proxy.stop()
		}
		var wg sync.WaitGroup
		for _, s := range k.shards[min(1, len(k.shards)):] {
			if s.proc != nil {
				wg.Go(s.proc.stop)
			}
		}
		wg.Wait()
		if len(k.shards) > 0 && k.shards[0].proc != nil {
			k.shards[0].proc.stop()
		}
		if k.cache != nil {
			k.cache.stop()
		}
		if k.ownRootDir {
			_ = os.RemoveAll(k.opts.RootDir)
		}
	})
}

// AdminConfig returns a rest.Config for a shard admin (system:masters) at the shard's base URL:
// it may list and watch across all logical clusters of this shard at /clusters/*.
func (s *Shard) AdminConfig() *rest.Config {
	return s.pki.config(s.URL, s.pki.shardCert, s.pki.shardKey)
}

// Pause stops the shard's process with SIGSTOP: it keeps its connections open but answers
// nothing, as a hung or partitioned shard does. Resume continues it.
func (s *Shard) Pause() error { return s.proc.signal(syscall.SIGSTOP) }

// Resume continues a paused shard with SIGCONT.
func (s *Shard) Resume() error { return s.proc.signal(syscall.SIGCONT) }

// Pid is the shard process's id.
func (s *Shard) Pid() int { return s.proc.pid() }

// LogPath is the file the shard's output goes to.
func (s *Shard) LogPath() string { return s.proc.log }

// LogTail returns the last n lines of the shard's log.
func (s *Shard) LogTail(n int) string { return s.proc.logTail(n) }
