// Package images tests `make images` (hack/images) as an operator meets it: it builds the images
// of bindery's processes into OCI layouts without a container engine, unpacks each image's layers
// from its layout into a folder, as a container runtime would, and runs the entrypoint with
// `version`. It also checks that the references the layouts carry are the images the Helm charts
// and `kubectl bindery bind` install by default.
//
// No server is started.
package images
