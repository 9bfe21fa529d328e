package kubectlbindery

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	inventoryv1alpha1 "github.com/bindery-dev/bindery/apis/inventory/v1alpha1"
)

func newInventoryCommand(config func() (*rest.Config, error)) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "inventory [export]",
		Short: "List the consumers of your APIExports (run it against your provider workspace)",
		Example: `  kubectl bindery inventory --server https://kcp.example.com/clusters/root:providers:dbs
  kubectl bindery inventory databases -o yaml`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := validOutput(output); err != nil {
				return err
			}
			cfg, err := config()
			if err != nil {
				return err
			}
			scheme := runtime.NewScheme()
			if err := inventoryv1alpha1.AddToScheme(scheme); err != nil {
				return err
			}
			c, err := client.New(cfg, client.Options{Scheme: scheme})
			if err != nil {
				return err
			}
			inventories := &inventoryv1alpha1.ExportInventoryList{}
			if err := c.List(cmd.Context(), inventories); err != nil {
				return fmt.Errorf("reading the inventory in %s (is this your provider workspace, and does it list an export?): %w", cfg.Host, err)
			}
			if len(args) == 1 {
				filtered := inventories.Items[:0]
				for _, inv := range inventories.Items {
					if inv.Name == args[0] {
						filtered = append(filtered, inv)
					}
				}
				inventories.Items = filtered
			}
			return printInventory(cmd.OutOrStdout(), inventories, output)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "table", "output format: table, yaml or json")
	return cmd
}

// printInventory writes one row per consumer of each export.
func printInventory(w io.Writer, inventories *inventoryv1alpha1.ExportInventoryList, output string) error {
	if done, err := printStructured(w, inventories, output); done {
		return err
	}
	if len(inventories.Items) == 0 {
		_, err := fmt.Fprintln(w, "No inventory here: list an APIExport in the catalog (label catalog.bindery.dev/listed=true) and run bindery-manager.")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 3, ' ', 0)
	fmt.Fprintln(tw, "EXPORT\tCONSUMER\tCLUSTER\tREADY\tACCEPTED CLAIMS\tREJECTED CLAIMS")
	for _, inv := range inventories.Items {
		if len(inv.Consumers) == 0 {
			fmt.Fprintf(tw, "%s\t<none>\t\t\t\t\n", inv.Name)
		}
		for _, c := range inv.Consumers {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%t\t%s\t%s\n", inv.Name, c.Path, c.Cluster, c.Ready,
				strings.Join(c.AcceptedClaims, ","), strings.Join(c.RejectedClaims, ","))
		}
	}
	return tw.Flush()
}
