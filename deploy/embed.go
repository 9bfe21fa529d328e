// Package deploy embeds the generated CRDs, so that bindery's processes can install what they
// own (the manager installs the CatalogEntry CRD into the catalog workspace).
package deploy

import "embed"

// CRDs holds deploy/crd/*.yaml.
//
//go:embed crd/*.yaml
var CRDs embed.FS
