package kubectlbindery

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"

	bindv1alpha1 "github.com/bindery-dev/bindery/apis/bind/v1alpha1"
)

func newBindingsCommand(cluster func() (*consumerTarget, error)) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "bindings",
		Short: "List the services bound into the cluster of your current context, and how they are doing",
		Long: `List the ServiceBindings of the cluster of your current kubeconfig context: which service of
which backend each binds, whether the konnector reaches the provider (CONNECTED) and has
everything in sync (READY, and REASON when not), when it last renewed its heartbeat at the
provider, and when the provider credential expires unless the konnector renews it.`,
		Example: `  kubectl bindery bindings
  kubectl bindery bindings -o yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := validOutput(output); err != nil {
				return err
			}
			c, target, err := connect(cluster)
			if err != nil {
				return err
			}
			list := &bindv1alpha1.ServiceBindingList{}
			if err := c.List(cmd.Context(), list); err != nil && !meta.IsNoMatchError(err) {
				return fmt.Errorf("listing the ServiceBindings of %s: %w", target.config.Host, err)
			}
			list.APIVersion, list.Kind = bindv1alpha1.GroupVersion.String(), "ServiceBindingList"
			return printBindings(cmd.OutOrStdout(), list, output, time.Now())
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "table", "output format: table, yaml or json")
	return cmd
}

// printBindings writes the bindings as a table, YAML or JSON; times are shown relative to now.
func printBindings(w io.Writer, list *bindv1alpha1.ServiceBindingList, output string, now time.Time) error {
	if done, err := printStructured(w, list, output); done {
		return err
	}
	if len(list.Items) == 0 {
		_, err := fmt.Fprintln(w, "No services are bound into this cluster: bind one with kubectl bindery bind <backend-url>.")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 3, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSERVICE\tBACKEND\tCONNECTED\tREADY\tREASON\tHEARTBEAT\tCREDENTIAL EXPIRES")
	for i := range list.Items {
		b := &list.Items[i]
		ready := meta.FindStatusCondition(b.Status.Conditions, bindv1alpha1.BindingConditionReady)
		reason := "-"
		if ready != nil && ready.Status != metav1.ConditionTrue {
			reason = ready.Reason
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", b.Name, b.Spec.Service, b.Spec.Backend,
			conditionStatus(b, bindv1alpha1.BindingConditionConnected), conditionStatus(b, bindv1alpha1.BindingConditionReady),
			reason, heartbeat(b.Status.LastHeartbeatTime, now), expiry(b.Status.CredentialExpiresAt, now))
	}
	return tw.Flush()
}

// conditionStatus is a condition's status, Unknown while the konnector has not reported it.
func conditionStatus(b *bindv1alpha1.ServiceBinding, t string) string {
	if cond := meta.FindStatusCondition(b.Status.Conditions, t); cond != nil {
		return string(cond.Status)
	}
	return string(metav1.ConditionUnknown)
}

// heartbeat is how long ago the konnector last renewed its Lease at the provider.
func heartbeat(t *metav1.Time, now time.Time) string {
	if t == nil {
		return "never"
	}
	return duration.HumanDuration(now.Sub(t.Time)) + " ago"
}

// expiry says when the credential expires, or since when it has.
func expiry(t *metav1.Time, now time.Time) string {
	switch {
	case t == nil:
		return "-"
	case t.After(now):
		return "in " + duration.HumanDuration(t.Sub(now))
	}
	return "expired " + duration.HumanDuration(now.Sub(t.Time)) + " ago"
}
