package deploy

import (
	"os"
	"path"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	ctrlclient "sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"
)

// checkHardened checks the pod's security settings: non-root, read-only root, no privileges.
func checkHardened(t testing.TB, pod corev1.PodSpec) {
	t.Helper()
	sc := pod.Containers[0].SecurityContext
	if pod.SecurityContext == nil || !ptrValue(pod.SecurityContext.RunAsNonRoot) ||
		sc == nil || !ptrValue(sc.RunAsNonRoot) || !ptrValue(sc.ReadOnlyRootFilesystem) ||
		sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
		sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) {
		t.Errorf("pod security context %+v, container security context %+v: want non-root, read-only root filesystem, no privilege escalation, all capabilities dropped",
			pod.SecurityContext, sc)
	}
}

// checkProbes checks that liveness and readiness probe /healthz and /readyz on the health port.
func checkProbes(t testing.TB, container corev1.Container, healthPort int32) {
	t.Helper()
	var port int32
	for _, p := range container.Ports {
		if p.Name == "health" {
			port = p.ContainerPort
		}
	}
	if port != healthPort {
		t.Errorf("health port %d, want %d", port, healthPort)
	}
	for _, p := range []struct {
		name  string
		probe *corev1.Probe
		want  string
	}{{"liveness", container.LivenessProbe, "/healthz"}, {"readiness", container.ReadinessProbe, "/readyz"}} {
		probe, want := p.probe, p.want
		if probe == nil || probe.HTTPGet == nil || probe.HTTPGet.Path != want || probe.HTTPGet.Port.String() != "health" {
			t.Errorf("%s probe %+v, want GET %s on the health port", p.name, probe, want)
		}
	}
}

// checkMountedKubeconfig checks that file, a kubeconfig flag's value, is the key of the named
// Secret, mounted read-only, and returns the key.
func checkMountedKubeconfig(t testing.TB, pod corev1.PodSpec, file, secretName, key string) string {
	t.Helper()
	dir, name := path.Split(file)
	for _, mount := range pod.Containers[0].VolumeMounts {
		if strings.TrimSuffix(mount.MountPath, "/")+"/" != dir {
			continue
		}
		if !mount.ReadOnly {
			t.Errorf("volume %s is mounted writable", mount.Name)
		}
		for _, volume := range pod.Volumes {
			if volume.Name != mount.Name {
				continue
			}
			if volume.Secret == nil || volume.Secret.SecretName != secretName {
				t.Fatalf("volume %s for %s: %+v, want Secret %s", volume.Name, file, volume.VolumeSource, secretName)
			}
			for _, item := range volume.Secret.Items {
				if item.Path == name {
					if item.Key != key {
						t.Errorf("%s is key %q of Secret %s, want key %q", file, item.Key, secretName, key)
					}
					return item.Key
				}
			}
		}
	}
	t.Fatalf("%s is not a file of a mounted Secret %s", file, secretName)
	return ""
}

// chartAppVersion reads a chart's appVersion from its Chart.yaml.
func chartAppVersion(t testing.TB, chart string) string {
	t.Helper()
	return valueAt(t, chartPath(t, chart, "Chart.yaml"), "appVersion")
}

// valueAt reads the string at a path of keys in a YAML file.
func valueAt(t testing.TB, file string, keys ...string) string {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("%s: no %v", file, keys)
		}
		v = m[k]
	}
	s, ok := v.(string)
	if !ok {
		t.Fatalf("%s: %v is %T, want a string", file, keys, v)
	}
	return s
}

func toYAML(t testing.TB, v any) string {
	t.Helper()
	out, err := yaml.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func key(namespace, name string) ctrlclient.ObjectKey {
	return ctrlclient.ObjectKey{Namespace: namespace, Name: name}
}

func ptrValue[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
