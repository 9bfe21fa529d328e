// Package catalog keeps the catalog of bindery-manager: one CatalogEntry per APIExport that a
// provider lists (label catalog.bindery.dev/listed=true), in a catalog workspace that every
// authenticated user may read, with the number of workspaces that bind the export.
package catalog
