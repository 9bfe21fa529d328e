package backend

import (
	"context"
	"fmt"

	authorizationv1 "k8s.io/api/authorization/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bindv1alpha1 "github.com/bindery-dev/bindery/apis/bind/v1alpha1"
	"github.com/bindery-dev/bindery/pkg/bindprotocol"
)

// BindVerb is the RBAC verb on services.bind.bindery.dev that lets a user bind a Service.
const BindVerb = "bind"

// allAuthenticated is the group the kube-apiserver gives every authenticated user.
const allAuthenticated = "system:authenticated"

// authorizer asks the provider cluster whether a user may bind a Service. The provider's RBAC
// decides, with the user named exactly as its kube-apiserver names users of the trusted issuer.
type authorizer struct {
	client client.Client
}

// denial explains a refused access review in words a user can act on.
type denial struct {
	user    string
	service string
	reason  string
}

func (d *denial) Error() string {
	msg := fmt.Sprintf("%s may not bind the Service %q: that needs the RBAC permission verb %q on resource %q of group %s (resource name %q) in the provider cluster; ask the provider to grant it with a ClusterRole and ClusterRoleBinding",
		d.user, d.service, BindVerb, "services", bindv1alpha1.GroupVersion.Group, d.service)
	if d.reason != "" {
		msg += " (the cluster says: " + d.reason + ")"
	}
	return msg
}

// mayBind returns nil when the user may bind the Service, a *denial when RBAC says no, and any
// other error when the question could not be asked.
func (a *authorizer) mayBind(ctx context.Context, u bindprotocol.User, service string) error {
	review := &authorizationv1.SubjectAccessReview{
		Spec: authorizationv1.SubjectAccessReviewSpec{
			User: u.Username,
			// The kube-apiserver adds this group to every authenticated user; a review must too,
			// or a ClusterRoleBinding to system:authenticated would not count.
			Groups: append(append([]string{}, u.Groups...), allAuthenticated),
			ResourceAttributes: &authorizationv1.ResourceAttributes{
				Group:    bindv1alpha1.GroupVersion.Group,
				Resource: "services",
				Verb:     BindVerb,
				Name:     service,
			},
		},
	}
	if err := a.client.Create(ctx, review); err != nil {
		return fmt.Errorf("asking the provider cluster whether %s may bind %q: %w", u.Username, service, err)
	}
	if !review.Status.Allowed {
		return &denial{user: u.Username, service: service, reason: review.Status.Reason}
	}
	return nil
}
