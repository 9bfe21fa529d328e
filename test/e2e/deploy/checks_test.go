package deploy

import (
	"context"
	"fmt"
	"os"
	"path"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrlclient "sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/bindery-dev/bindery/test/framework"
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

// checkMountedSecret checks that file, a flag's value (a kubeconfig, a certificate), is the key of
// the named Secret, mounted read-only, and returns the key.
func checkMountedSecret(t testing.TB, pod corev1.PodSpec, file, secretName, key string) string {
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

// parseFlags parses args with a binary's own command line (its cli.NewCommand()), so that every
// flag the chart renders exists with a value it accepts, and returns the flags' values.
func parseFlags(t testing.TB, cmd *cobra.Command, args []string) map[string]string {
	t.Helper()
	if err := cmd.ParseFlags(args); err != nil {
		t.Fatalf("%s does not accept the chart's args %q: %v", cmd.Name(), args, err)
	}
	values := map[string]string{}
	cmd.Flags().VisitAll(func(f *pflag.Flag) { values[f.Name] = f.Value.String() })
	return values
}

// deployment returns the Deployment a chart installed.
func (c *cluster) deployment(t testing.TB, namespace, name string) *appsv1.Deployment {
	t.Helper()
	d := &appsv1.Deployment{}
	if err := c.client.Get(framework.Context(t), key(namespace, name), d); err != nil {
		t.Fatalf("the Deployment %s/%s was not installed: %v", namespace, name, err)
	}
	return d
}

// checkFlags reports each flag whose parsed value is not the wanted one.
func checkFlags(t testing.TB, flags, want map[string]string) {
	t.Helper()
	for flag, value := range want {
		if flags[flag] != value {
			t.Errorf("--%s=%q, want %q", flag, flags[flag], value)
		}
	}
}

// checkAllValuesPod checks what every chart's ci/all-values.yaml sets alike: two replicas, the
// image with pull policy Always, the ServiceAccount, one pull Secret, the priority class, node
// selector, toleration and affinity, and the pod annotation.
func checkAllValuesPod(t testing.TB, d *appsv1.Deployment, image, serviceAccount string) {
	t.Helper()
	if got := ptrValue(d.Spec.Replicas); got != 2 {
		t.Errorf("replicas %d, want 2", got)
	}
	pod := d.Spec.Template.Spec
	if c := pod.Containers[0]; c.Image != image || c.ImagePullPolicy != corev1.PullAlways {
		t.Errorf("image %q (%s), want the values' image %s", c.Image, c.ImagePullPolicy, image)
	}
	if pod.ServiceAccountName != serviceAccount || len(pod.Tolerations) != 1 || pod.Affinity == nil ||
		pod.NodeSelector["kubernetes.io/os"] != "linux" || pod.PriorityClassName != "system-cluster-critical" ||
		len(pod.ImagePullSecrets) != 1 || d.Spec.Template.Annotations["prometheus.io/scrape"] != "false" {
		t.Errorf("pod settings of the values missing (want ServiceAccount %s): %+v, annotations %v", serviceAccount, pod, d.Spec.Template.Annotations)
	}
}

// checkArgs reports args that are not exactly the wanted ones, in order.
func checkArgs(t testing.TB, args, want []string) {
	t.Helper()
	if !slices.Equal(args, want) {
		t.Errorf("args\n  %q\nwant\n  %q", args, want)
	}
}

// waitForCondition waits until obj, read again each time, has the condition of type condType
// with status and reason; conditions returns obj's conditions.
func (c *cluster) waitForCondition(t testing.TB, obj ctrlclient.Object, conditions func() []metav1.Condition, condType string, status metav1.ConditionStatus, reason string) {
	t.Helper()
	what := fmt.Sprintf("%s=%s %s on %s", condType, status, reason, obj.GetName())
	framework.WaitFor(t, time.Minute, what, func(ctx context.Context) (bool, string, error) {
		if err := c.client.Get(ctx, ctrlclient.ObjectKeyFromObject(obj), obj); err != nil {
			return false, "", err
		}
		cond := meta.FindStatusCondition(conditions(), condType)
		if cond == nil {
			return false, "no " + condType + " condition", nil
		}
		return cond.Status == status && cond.Reason == reason, string(cond.Status) + " " + cond.Reason + ": " + cond.Message, nil
	})
}
