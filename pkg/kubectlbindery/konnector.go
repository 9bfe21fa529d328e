package kubectlbindery

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/bindery-dev/bindery/pkg/konnectorrbac"
)

const (
	// konnectorName names the konnector's Deployment, ServiceAccount, ClusterRole and bindings.
	konnectorName = "bindery-konnector"
	// konnectorLeaderElection names its leader-election Role and RoleBinding.
	konnectorLeaderElection = "bindery-konnector-leader-election"
	// konnectorComponentLabel selects the konnector's pods.
	konnectorComponentLabel = "bind.bindery.dev/component"
)

// ensureKonnector installs the konnector unless one runs. "Runs" is decided simply: the
// Deployment bindery-konnector in the namespace is Available. Anything else (no Deployment, or
// one that is not available) gets the manifests applied, which creates the konnector or puts
// this CLI's version of it in place; a konnector run some other way is told apart with
// --konnector=skip.
func ensureKonnector(ctx context.Context, c client.Client, p progress, namespace, image string) error {
	running, err := konnectorAvailable(ctx, c, namespace)
	if err != nil {
		return err
	}
	if running {
		p.printf("The konnector runs already (Deployment %s/%s is available): leaving it as it is.", namespace, konnectorName)
		return nil
	}
	for _, obj := range konnectorObjects(namespace, image) {
		if err := apply(ctx, c, obj); err != nil {
			return fmt.Errorf("installing the konnector: %w (you need the rights to create its RBAC; or run it yourself and pass --konnector=skip)", err)
		}
	}
	p.printf("Installed the konnector in %s (Deployment %s, image %s).", namespace, konnectorName, image)
	return nil
}

// konnectorAvailable reports whether the konnector's Deployment exists and is Available.
func konnectorAvailable(ctx context.Context, c client.Client, namespace string) (bool, error) {
	d := &appsv1.Deployment{}
	err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: konnectorName}, d)
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("looking for a running konnector (Deployment %s/%s): %w", namespace, konnectorName, err)
	}
	for _, cond := range d.Status.Conditions {
		if cond.Type == appsv1.DeploymentAvailable {
			return cond.Status == corev1.ConditionTrue, nil
		}
	}
	return false, nil
}

// KonnectorManifests are the objects `bind --konnector=install` applies to run the konnector in
// namespace with image, in the order it applies them. The konnector's Helm chart
// (deploy/charts/bindery-konnector) installs the same RBAC under the same names; test/e2e/deploy
// compares the two.
func KonnectorManifests(namespace, image string) []client.Object {
	return konnectorObjects(namespace, image)
}

// konnectorObjects are the konnector's manifests, in the order they are applied: its
// ServiceAccount and RBAC before the Deployment that uses them.
func konnectorObjects(namespace, image string) []client.Object {
	return []client.Object{
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: konnectorName, Namespace: namespace}},
		konnectorrbac.CoreClusterRole(konnectorName),
		konnectorrbac.ClusterRole(konnectorName),
		konnectorrbac.ClusterRoleBinding(konnectorName, namespace, konnectorName),
		konnectorrbac.LeaderElectionRole(konnectorLeaderElection, namespace),
		konnectorrbac.LeaderElectionRoleBinding(konnectorLeaderElection, namespace, konnectorName),
		konnectorDeployment(namespace, image),
	}
}

// konnectorDeployment runs one konnector (it elects a leader, so a second replica is a standby)
// as an unprivileged user with a read-only root file system. POD_NAMESPACE tells it where its
// Lease and credential Secrets live.
func konnectorDeployment(namespace, image string) *appsv1.Deployment {
	labels := map[string]string{konnectorComponentLabel: "konnector"}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: konnectorName, Namespace: namespace, Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](1),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					ServiceAccountName: konnectorName,
					SecurityContext: &corev1.PodSecurityContext{
						RunAsNonRoot: ptr.To(true), SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
					},
					Containers: []corev1.Container{konnectorContainer(image)},
				},
			},
		},
	}
}

func konnectorContainer(image string) corev1.Container {
	return corev1.Container{
		Name:  "konnector",
		Image: image,
		Env: []corev1.EnvVar{{Name: "POD_NAMESPACE", ValueFrom: &corev1.EnvVarSource{
			FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"},
		}}},
		Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
			corev1.ResourceCPU: resource.MustParse("50m"), corev1.ResourceMemory: resource.MustParse("64Mi"),
		}},
		SecurityContext: &corev1.SecurityContext{
			AllowPrivilegeEscalation: ptr.To(false), ReadOnlyRootFilesystem: ptr.To(true),
			Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		},
	}
}
