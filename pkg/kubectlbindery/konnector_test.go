package kubectlbindery

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/bindery-dev/bindery/pkg/konnectorrbac"
)

func TestKonnectorObjects(t *testing.T) {
	objects := konnectorObjects("team-system", "example.test/konnector:v1")
	var deployment *appsv1.Deployment
	var binding *rbacv1.ClusterRoleBinding
	for _, obj := range objects {
		switch o := obj.(type) {
		case *appsv1.Deployment:
			deployment = o
		case *rbacv1.ClusterRoleBinding:
			binding = o
		}
		if ns := obj.GetNamespace(); ns != "" && ns != "team-system" {
			t.Errorf("%T %s in namespace %s", obj, obj.GetName(), ns)
		}
	}
	if deployment == nil || binding == nil {
		t.Fatalf("no Deployment or ClusterRoleBinding among %d objects", len(objects))
	}
	if _, ok := objects[len(objects)-1].(*appsv1.Deployment); !ok {
		t.Errorf("the Deployment is not applied last, after the RBAC it uses")
	}
	pod := deployment.Spec.Template.Spec
	if pod.ServiceAccountName != konnectorName || pod.Containers[0].Image != "example.test/konnector:v1" {
		t.Errorf("pod runs as %q with image %q", pod.ServiceAccountName, pod.Containers[0].Image)
	}
	if s := binding.Subjects[0]; binding.RoleRef.Name != konnectorName || s.Name != konnectorName || s.Namespace != "team-system" {
		t.Errorf("ClusterRoleBinding %+v", binding)
	}
	if konnectorrbac.ClusterRole(konnectorName).AggregationRule == nil {
		t.Errorf("the konnector's ClusterRole is not aggregated")
	}
}
