package kubectlbindery

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bindv1alpha1 "github.com/bindery-dev/bindery/apis/bind/v1alpha1"
	"github.com/bindery-dev/bindery/pkg/konnectorrbac"
)

// What unbind does with the consumer's objects of the received resources.
const (
	objectsKeep   = "keep"
	objectsDelete = "delete"
)

// DefaultUnbindTimeout bounds each of unbind's waits: for the objects and for the binding to go.
const DefaultUnbindTimeout = 5 * time.Minute

type unbindOptions struct {
	objects string
	timeout time.Duration
}

func newUnbindCommand(cluster func() (*consumerTarget, error)) *cobra.Command {
	o := &unbindOptions{}
	cmd := &cobra.Command{
		Use:   "unbind <binding>",
		Short: "Remove a ServiceBinding, its credential and the konnector's rights on what it received",
		Long: `Remove a ServiceBinding from the cluster of your current context, with its credential Secret and
the ClusterRole that gave the konnector rights on the resources it received.

--objects says what happens to your objects of those resources (asked when stdin is a terminal,
required otherwise):

  keep    The konnector releases them: they stay in this cluster as they are, no longer synced,
          and their copies at the provider stay until the provider cleans up.
  delete  unbind deletes them here first and waits until they are gone (the konnector deletes
          their copies at the provider before it lets them go), then removes the binding.

Either way the received CRDs stay installed: deleting a CRD deletes every object of it, so that is
left to you (kubectl delete crd <name>).`,
		Example: `  kubectl bindery unbind databases --objects=keep
  kubectl bindery unbind databases --objects=delete --timeout 10m`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return fmt.Errorf("unbind takes the name of one ServiceBinding, e.g. kubectl bindery unbind databases; kubectl bindery bindings lists them")
			}
			return o.run(cmd.Context(), cmd.InOrStdin(), cmd.OutOrStdout(), args[0], cluster)
		},
	}
	cmd.Flags().StringVar(&o.objects, "objects", "", "keep or delete your objects of the received resources (required when stdin is not a terminal)")
	cmd.Flags().DurationVar(&o.timeout, "timeout", DefaultUnbindTimeout, "how long to wait for the objects, then the binding, to be gone")
	return cmd
}

func (o *unbindOptions) run(ctx context.Context, in io.Reader, out io.Writer, name string, cluster func() (*consumerTarget, error)) error {
	if o.objects != "" && o.objects != objectsKeep && o.objects != objectsDelete {
		return fmt.Errorf("--objects=%s: choose keep (they stay here, released) or delete (deleted here and at the provider)", o.objects)
	}
	if o.timeout <= 0 {
		return fmt.Errorf("--timeout %s: give a positive duration such as 5m", o.timeout)
	}
	c, target, err := connect(cluster)
	if err != nil {
		return err
	}
	binding := &bindv1alpha1.ServiceBinding{}
	if err := c.Get(ctx, client.ObjectKey{Name: name}, binding); apierrors.IsNotFound(err) || meta.IsNoMatchError(err) {
		return fmt.Errorf("there is no ServiceBinding %s in the cluster of context %q: kubectl bindery bindings lists them", name, target.context)
	} else if err != nil {
		return fmt.Errorf("reading ServiceBinding %s: %w", name, err)
	}
	resources, err := boundResources(ctx, c, binding)
	if err != nil {
		return err
	}
	objects, err := chooseObjects(o.objects, isTerminal(in), in, out, name, resources)
	if err != nil {
		return err
	}
	u := &unbinder{c: c, p: progress{out}, binding: binding, timeout: o.timeout}
	return u.unbind(ctx, objects, resources)
}

// chooseObjects is --objects, or the user's answer when stdin is a terminal.
func chooseObjects(flag string, interactive bool, in io.Reader, out io.Writer, binding string, resources []receivedCRD) (string, error) {
	if flag != "" {
		return flag, nil
	}
	if !interactive {
		return "", fmt.Errorf("say what happens to your objects of %s: --objects=keep (they stay here, no longer synced) or --objects=delete (deleted here and at the provider)",
			describeReceived(resources))
	}
	fmt.Fprintf(out, "ServiceBinding %s received %s. What happens to your objects of them?\n", binding, describeReceived(resources))
	fmt.Fprintln(out, "  keep:   they stay in this cluster, no longer synced; their copies at the provider stay until the provider cleans up")
	fmt.Fprintln(out, "  delete: they are deleted here, and the konnector deletes their copies at the provider")
	fmt.Fprint(out, "keep or delete? ")
	answer, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && answer == "" {
		return "", fmt.Errorf("no answer: pass --objects=keep or --objects=delete")
	}
	switch a := strings.ToLower(strings.TrimSpace(answer)); a {
	case objectsKeep, objectsDelete:
		return a, nil
	default:
		return "", fmt.Errorf("%q is neither keep nor delete: nothing was changed; run unbind again", a)
	}
}

// isTerminal reports whether r is a terminal a person can answer at.
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}

// unbinder removes one binding.
type unbinder struct {
	c       client.Client
	p       progress
	binding *bindv1alpha1.ServiceBinding
	timeout time.Duration
}

// unbind deletes the objects when asked, then the binding, and once it is gone its Secret and
// ClusterRole: the konnector needs both to release or delete what it synced, so they go last.
func (u *unbinder) unbind(ctx context.Context, objects string, resources []receivedCRD) error {
	if objects == objectsDelete {
		if err := u.deleteObjects(ctx, resources); err != nil {
			return err
		}
	}
	if err := u.deleteBinding(ctx); err != nil {
		return err
	}
	if err := u.deleteCredentialAndRole(ctx); err != nil {
		return err
	}
	if objects == objectsKeep && len(resources) > 0 {
		u.p.printf("Your objects of %s stay in this cluster, no longer synced; their copies at the provider stay until the provider cleans up.", describeReceived(resources))
	}
	if crds := crdNames(resources); crds != "" {
		u.p.printf("The received CRDs stay installed; kubectl delete crd %s removes them with every object of them.", crds)
	}
	return nil
}

// deleteBinding deletes the ServiceBinding and waits until the konnector has let it go.
func (u *unbinder) deleteBinding(ctx context.Context) error {
	b := u.binding
	if err := u.c.Delete(ctx, b); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("deleting ServiceBinding %s: %w", b.Name, err)
	}
	u.p.printf("Deleted ServiceBinding %s; waiting for the konnector to let it go.", b.Name)
	err := wait.PollUntilContextTimeout(ctx, waitPoll, u.timeout, true, func(ctx context.Context) (bool, error) {
		err := u.c.Get(ctx, client.ObjectKeyFromObject(b), b)
		return apierrors.IsNotFound(err), nil
	})
	if err != nil {
		ns := b.Spec.CredentialSecret.Namespace
		return fmt.Errorf("ServiceBinding %s is still there after %s, held by its finalizers %v: the konnector removes its own once it has released what it synced. "+
			"Is it running? kubectl -n %s logs deployment/%s. Its Secret and ClusterRole stay until then; run unbind again once the konnector runs",
			b.Name, u.timeout, b.Finalizers, ns, konnectorName)
	}
	u.p.printf("ServiceBinding %s is gone.", b.Name)
	return nil
}

// deleteCredentialAndRole removes the Secret and the per-binding ClusterRole.
func (u *unbinder) deleteCredentialAndRole(ctx context.Context) error {
	ref := u.binding.Spec.CredentialSecret
	secret := &corev1.Secret{}
	secret.Namespace, secret.Name = ref.Namespace, ref.Name
	if err := u.c.Delete(ctx, secret); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("deleting the credential Secret %s/%s: %w", ref.Namespace, ref.Name, err)
	}
	role := &rbacv1.ClusterRole{}
	role.Name = konnectorrbac.BindingClusterRoleName(u.binding.Name)
	if err := u.c.Delete(ctx, role); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("deleting ClusterRole %s: %w", role.Name, err)
	}
	u.p.printf("Deleted the credential Secret %s/%s and ClusterRole %s.", ref.Namespace, ref.Name, role.Name)
	return nil
}
