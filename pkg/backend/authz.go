package backend

import (
	"context"
	"fmt"

	"github.com/kcp-dev/logicalcluster/v3"
	authorizationv1 "k8s.io/api/authorization/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bindv1alpha1 "github.com/bindery-dev/bindery/apis/bind/v1alpha1"
	"github.com/bindery-dev/bindery/pkg/bindprotocol"
)

// BindVerb is the RBAC verb on services.bind.bindery.dev that lets a user bind a Service.
const BindVerb = "bind"

// allAuthenticated is the group the kube-apiserver gives every authenticated user.
const allAuthenticated = "system:authenticated"

// authorizer asks the provider cluster, or the kcp workspace the backend serves, whether a user
// may bind a Service. Its RBAC decides, with the user named exactly as its API server names
// users of the trusted issuer.
type authorizer struct {
	client client.Client
	// workspace is the kcp workspace the backend serves; empty for a provider cluster.
	workspace logicalcluster.Path
}

// denial explains a refused access review in words a user can act on.
type denial struct {
	user    string
	service string
	reason  string
	// workspace is the kcp workspace that refused; empty for a provider cluster.
	workspace logicalcluster.Path
	// noAccess says the user may not even access the workspace, which kcp requires first.
	noAccess bool
}

func (d *denial) Error() string {
	where := "in the provider cluster; ask the provider to grant it with a ClusterRole and ClusterRoleBinding"
	if !d.workspace.Empty() {
		where = fmt.Sprintf("in kcp workspace %s; ask its admins to grant it with a ClusterRole and ClusterRoleBinding there", d.workspace)
		if d.noAccess {
			where += `, together with verb "access" on the non-resource URL "/" (kcp refuses everything else to a user without access to the workspace)`
		}
	}
	msg := fmt.Sprintf("%s may not bind the Service %q: that needs the RBAC permission verb %q on resource %q of group %s (resource name %q) %s",
		d.user, d.service, BindVerb, "services", bindv1alpha1.GroupVersion.Group, d.service, where)
	if d.reason != "" {
		msg += " (the cluster says: " + d.reason + ")"
	}
	return msg
}

// mayBind returns nil when the user may bind the Service, a *denial when RBAC says no, and any
// other error when the question could not be asked.
func (a *authorizer) mayBind(ctx context.Context, u bindprotocol.User, service string) error {
	review := a.review(u)
	review.Spec.ResourceAttributes = &authorizationv1.ResourceAttributes{
		Group:    bindv1alpha1.GroupVersion.Group,
		Resource: "services",
		Verb:     BindVerb,
		Name:     service,
	}
	if err := a.client.Create(ctx, review); err != nil {
		return fmt.Errorf("asking %s whether %s may bind %q: %w", a.place(), u.Username, service, err)
	}
	if review.Status.Allowed {
		return nil
	}
	denied := &denial{user: u.Username, service: service, reason: review.Status.Reason, workspace: a.workspace}
	if !a.workspace.Empty() {
		access := a.review(u)
		access.Spec.NonResourceAttributes = &authorizationv1.NonResourceAttributes{Path: "/", Verb: "access"}
		if err := a.client.Create(ctx, access); err != nil {
			return fmt.Errorf("asking %s whether %s may access it: %w", a.place(), u.Username, err)
		}
		denied.noAccess = !access.Status.Allowed
	}
	return denied
}

// review is an access review of the user, yet without the attributes asked about.
func (a *authorizer) review(u bindprotocol.User) *authorizationv1.SubjectAccessReview {
	return &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User: u.Username,
		// The kube-apiserver adds this group to every authenticated user; a review must too,
		// or a ClusterRoleBinding to system:authenticated would not count.
		Groups: append(append([]string{}, u.Groups...), allAuthenticated),
	}}
}

func (a *authorizer) place() string {
	if a.workspace.Empty() {
		return "the provider cluster"
	}
	return "kcp workspace " + a.workspace.String()
}
