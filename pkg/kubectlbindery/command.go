package kubectlbindery

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	catalogv1alpha1 "github.com/bindery-dev/bindery/apis/catalog/v1alpha1"
	"github.com/bindery-dev/bindery/pkg/kcpconfig"
	"github.com/bindery-dev/bindery/pkg/version"
)

// NewCommand returns `kubectl bindery` with its subcommands.
func NewCommand() *cobra.Command {
	root := &cobra.Command{
		Use:          "kubectl-bindery",
		Short:        "bindery's kubectl plugin",
		Long:         "kubectl bindery shows what bindery knows about the services offered across kcp workspaces,\nand binds a provider's services from its bindery-backend into your own cluster.",
		SilenceUsage: true,
	}
	kubeconfig := root.PersistentFlags().String("kubeconfig", "", "kubeconfig (default: $KUBECONFIG or ~/.kube/config): your kcp for catalog and inventory, your own cluster for bind, bindings and unbind")
	kubecontext := root.PersistentFlags().String("context", "", "context in the kubeconfig (default: the current one)")
	server := root.PersistentFlags().String("server", "", "server URL overriding the kubeconfig's, for kcp with /clusters/<workspace path> (credentials still come from the kubeconfig)")
	config := func() (*rest.Config, error) { return load(*kubeconfig, *kubecontext, *server) }
	cluster := func() (*consumerTarget, error) { return loadTarget(*kubeconfig, *kubecontext, *server) }
	root.AddCommand(newCatalogCommand(config), newInventoryCommand(config))
	root.AddCommand(newLoginCommand(), newWhoAmICommand())
	root.AddCommand(newBindCommand(cluster), newBindingsCommand(cluster), newUnbindCommand(cluster))
	root.AddCommand(version.Command())
	return root
}

func newCatalogCommand(config func() (*rest.Config, error)) *cobra.Command {
	var workspace, output string
	cmd := &cobra.Command{
		Use:   "catalog",
		Short: "List the services providers offer (the catalog bindery-manager keeps)",
		Example: `  kubectl bindery catalog
  kubectl bindery catalog -o yaml --catalog-workspace root:catalog`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := validOutput(output); err != nil {
				return err
			}
			cfg, err := config()
			if err != nil {
				return err
			}
			entries, err := listCatalog(cmd.Context(), cfg, workspace)
			if err != nil {
				return err
			}
			return printCatalog(cmd.OutOrStdout(), entries, output)
		},
	}
	cmd.Flags().StringVar(&workspace, "catalog-workspace", "root:catalog", "workspace path of the catalog")
	cmd.Flags().StringVarP(&output, "output", "o", "table", "output format: table, yaml or json")
	return cmd
}

func load(kubeconfig, context, server string) (*rest.Config, error) {
	target, err := loadTarget(kubeconfig, context, server)
	if err != nil {
		return nil, err
	}
	return target.config, nil
}

// listCatalog reads the CatalogEntries of the catalog workspace on the kubeconfig's kcp server.
func listCatalog(ctx context.Context, cfg *rest.Config, workspace string) (*catalogv1alpha1.CatalogEntryList, error) {
	server, err := kcpconfig.Server(cfg)
	if err != nil {
		return nil, err
	}
	cfg = kcpconfig.ForCluster(server, workspace)
	scheme := runtime.NewScheme()
	if err := catalogv1alpha1.AddToScheme(scheme); err != nil {
		return nil, err
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, err
	}
	entries := &catalogv1alpha1.CatalogEntryList{}
	if err := c.List(ctx, entries); err != nil {
		return nil, fmt.Errorf("reading the catalog in %s (is bindery-manager running, and is --catalog-workspace right?): %w", workspace, err)
	}
	return entries, nil
}

// outputs are the formats -o accepts.
var outputs = []string{"table", "yaml", "json"}

func validOutput(output string) error {
	for _, o := range outputs {
		if o == output {
			return nil
		}
	}
	return fmt.Errorf("-o %q: choose %s", output, strings.Join(outputs, ", "))
}

// printStructured writes obj as YAML or JSON; it reports false for the table format.
func printStructured(w io.Writer, obj any, output string) (bool, error) {
	switch output {
	case "yaml":
		data, err := yaml.Marshal(obj)
		if err != nil {
			return true, err
		}
		_, err = w.Write(data)
		return true, err
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return true, enc.Encode(obj)
	}
	return false, nil
}

// printCatalog writes the entries as a table, YAML or JSON.
func printCatalog(w io.Writer, entries *catalogv1alpha1.CatalogEntryList, output string) error {
	if done, err := printStructured(w, entries, output); done {
		return err
	}
	if len(entries.Items) == 0 {
		_, err := fmt.Fprintln(w, "No services are listed in the catalog yet.")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 3, ' ', 0)
	fmt.Fprintln(tw, "SERVICE\tPROVIDER\tEXPORT\tRESOURCES\tCONSUMERS")
	for _, e := range entries.Items {
		var resources []string
		for _, r := range e.Spec.Resources {
			resources = append(resources, r.Resource+"."+r.Group)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\n", e.Spec.DisplayName, e.Spec.Export.Path, e.Spec.Export.Name, strings.Join(resources, ","), e.Status.Consumers)
	}
	return tw.Flush()
}
