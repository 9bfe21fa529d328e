package deploy

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	"github.com/bindery-dev/bindery/test/framework"
	"github.com/bindery-dev/bindery/test/servers"
)

// There are no kubelets in these clusters, so no pod runs. To see that a chart's Deployment would
// work, the tests run its binary here the way a kubelet would start the container: as the chart's
// ServiceAccount (a token from TokenRequest, what the pod would mount), with the container's
// args, and with the Secrets and ConfigMaps it mounts written to a folder that stands in for the
// container's file system. Only addresses are overridden, so that tests sharing a machine do not
// fight over ports.

// serviceAccountConfig returns a rest.Config that authenticates as the ServiceAccount with a token
// the API server issued for it, as the ServiceAccount's pods do.
func (c *cluster) serviceAccountConfig(t testing.TB, namespace, name string) *rest.Config {
	t.Helper()
	sa := &corev1.ServiceAccount{}
	if err := c.client.Get(framework.Context(t), key(namespace, name), sa); err != nil {
		t.Fatalf("the ServiceAccount %s/%s: %v", namespace, name, err)
	}
	request := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](3600)}}
	if err := c.client.SubResource("token").Create(framework.Context(t), sa, request); err != nil {
		t.Fatalf("a token for ServiceAccount %s/%s: %v", namespace, name, err)
	}
	return &rest.Config{
		Host:            c.config.Host,
		TLSClientConfig: rest.TLSClientConfig{CAData: c.config.CAData},
		BearerToken:     request.Status.Token,
	}
}

// containerFiles writes what the pod's container mounts (its Secret and ConfigMap volumes, with
// their items, and its emptyDirs) below a temporary folder, reading the Secrets and ConfigMaps
// from the cluster, and returns the function that maps a path in the container to the file here.
// A volume whose Secret or ConfigMap is missing fails the test, as the pod would not start.
func (c *cluster) containerFiles(t testing.TB, namespace string, pod corev1.PodSpec) func(string) string {
	t.Helper()
	ctx := framework.Context(t)
	root := t.TempDir()
	volumes := map[string]corev1.Volume{}
	for _, v := range pod.Volumes {
		volumes[v.Name] = v
	}
	for _, mount := range pod.Containers[0].VolumeMounts {
		v, ok := volumes[mount.Name]
		if !ok {
			t.Fatalf("volume mount %s names no volume", mount.Name)
		}
		dir := filepath.Join(root, mount.MountPath)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		var data map[string][]byte
		var items []corev1.KeyToPath
		switch {
		case v.EmptyDir != nil:
			continue
		case v.Secret != nil:
			secret := &corev1.Secret{}
			if err := c.client.Get(ctx, key(namespace, v.Secret.SecretName), secret); err != nil {
				t.Fatalf("volume %s: Secret %s: %v", v.Name, v.Secret.SecretName, err)
			}
			data, items = secret.Data, v.Secret.Items
		case v.ConfigMap != nil:
			cm := &corev1.ConfigMap{}
			if err := c.client.Get(ctx, key(namespace, v.ConfigMap.Name), cm); err != nil {
				t.Fatalf("volume %s: ConfigMap %s: %v", v.Name, v.ConfigMap.Name, err)
			}
			data = map[string][]byte{}
			for k, s := range cm.Data {
				data[k] = []byte(s)
			}
			items = v.ConfigMap.Items
		default:
			t.Fatalf("volume %s: only Secret, ConfigMap and emptyDir volumes are stood in for", v.Name)
		}
		for _, item := range items {
			value, ok := data[item.Key]
			if !ok {
				t.Fatalf("volume %s: no key %s", v.Name, item.Key)
			}
			if err := os.WriteFile(filepath.Join(dir, item.Path), value, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	return func(path string) string {
		for _, mount := range pod.Containers[0].VolumeMounts {
			dir := strings.TrimSuffix(mount.MountPath, "/")
			if path == dir || strings.HasPrefix(path, dir+"/") {
				return filepath.Join(root, path)
			}
		}
		return path
	}
}

// localArgs rewrites --flag=value args whose value is a path in the container into the path here.
func localArgs(args []string, local func(string) string) []string {
	out := make([]string, 0, len(args))
	for _, arg := range args {
		if name, value, ok := strings.Cut(arg, "="); ok && strings.HasPrefix(value, "/") {
			arg = name + "=" + local(value)
		}
		out = append(out, arg)
	}
	return out
}

// startAsPod runs the command of the repository with the container's args (paths mapped with
// local) followed by overrides, as the ServiceAccount, and returns it with the address of its
// health probes.
func (c *cluster) startAsPod(t testing.TB, cmd, namespace string, pod corev1.PodSpec, local func(string) string, overrides ...string) (*framework.Process, string) {
	t.Helper()
	cfg := c.serviceAccountConfig(t, namespace, pod.ServiceAccountName)
	port, err := servers.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	health := fmt.Sprintf("127.0.0.1:%d", port)
	args := append(localArgs(pod.Containers[0].Args, local),
		"--kubeconfig="+framework.WriteKubeconfig(t, pod.ServiceAccountName, cfg),
		"--health-probe-bind-address="+health, "--metrics-bind-address=0")
	args = append(args, overrides...)
	name := filepath.Base(cmd)
	return framework.StartProcess(t, name, framework.Binary(t, cmd), args...), health
}

// waitHealthy waits until GET http://<address>/healthz answers 200, or the process exits.
func waitHealthy(t testing.TB, p *framework.Process, address string) {
	t.Helper()
	framework.WaitFor(t, 2*time.Minute, "/healthz at "+address, func(ctx context.Context) (bool, string, error) {
		if p.Exited() {
			return false, "", fmt.Errorf("the process exited: %s", p.LogTail(20))
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+address+"/healthz", nil)
		if err != nil {
			return false, "", err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false, err.Error(), nil
		}
		_ = resp.Body.Close()
		return resp.StatusCode == http.StatusOK, resp.Status, nil
	})
}
