package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The user the images run as, the same as the charts' runAsUser and distroless' nonroot.
const (
	UID      = 65532
	User     = "65532:65532"
	userName = "nonroot"
)

// BinDir is where the executable lands; the entrypoint is BinDir/<binary>.
const BinDir = "/usr/local/bin"

// CABundlePath is where the CA bundle lands, where Go's crypto/x509 looks first on Linux.
const CABundlePath = "/etc/ssl/certs/ca-certificates.crt"

// Spec is one image: a binary for a platform.
type Spec struct {
	// Binary is the executable's name, e.g. bindery-konnector.
	Binary string
	// Executable is the statically linked program.
	Executable []byte
	Platform   v1.Platform
	// Version, Source and Revision go into the labels; Version is the tag too.
	Version, Source, Revision string
	// Created is the time of the image and of every file in it.
	Created time.Time
	// CABundle, when set, is installed at CABundlePath.
	CABundle []byte
}

// Build assembles the image: a base layer with the files every binary needs (the same for every
// binary of a platform, so registries store it once) and a layer with the executable.
func Build(s Spec) (v1.Image, error) {
	if s.Binary == "" || len(s.Executable) == 0 {
		return nil, fmt.Errorf("no executable")
	}
	base, err := layer(baseFiles(s.CABundle), s.Created)
	if err != nil {
		return nil, err
	}
	app, err := layer(appFiles(s.Binary, s.Executable), s.Created)
	if err != nil {
		return nil, err
	}
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err = mutate.Append(img,
		mutate.Addendum{Layer: base, MediaType: types.OCILayer, History: v1.History{
			Created: v1.Time{Time: s.Created}, CreatedBy: "hack/images: base", Comment: "passwd and group with " + userName + " (" + User + "), CA certificates, /tmp",
		}},
		mutate.Addendum{Layer: app, MediaType: types.OCILayer, History: v1.History{
			Created: v1.Time{Time: s.Created}, CreatedBy: "hack/images: " + BinDir + "/" + s.Binary, Comment: s.Binary + " " + s.Version,
		}},
	)
	if err != nil {
		return nil, err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cfg = cfg.DeepCopy()
	cfg.Created = v1.Time{Time: s.Created}
	cfg.OS, cfg.Architecture, cfg.Variant = s.Platform.OS, s.Platform.Architecture, s.Platform.Variant
	cfg.Config = v1.Config{
		User:       User,
		Entrypoint: []string{BinDir + "/" + s.Binary},
		WorkingDir: "/",
		Env:        []string{"PATH=" + BinDir + ":/usr/bin:/bin"},
		Labels:     Labels(s),
	}
	return mutate.ConfigFile(img, cfg)
}

// Labels are the image's OCI labels.
func Labels(s Spec) map[string]string {
	labels := map[string]string{
		"org.opencontainers.image.title":       s.Binary,
		"org.opencontainers.image.version":     s.Version,
		"org.opencontainers.image.source":      s.Source,
		"org.opencontainers.image.url":         s.Source,
		"org.opencontainers.image.vendor":      "bindery",
		"org.opencontainers.image.created":     s.Created.UTC().Format(time.RFC3339),
		"org.opencontainers.image.description": "bindery's " + s.Binary + "; its entrypoint is the binary",
	}
	if s.Revision != "" {
		labels["org.opencontainers.image.revision"] = s.Revision
	}
	return labels
}

// file is an entry of a layer.
type file struct {
	path     string
	mode     int64
	uid      int
	dir      bool
	contents []byte
}

func baseFiles(caBundle []byte) []file {
	files := []file{
		{path: "etc/", mode: 0o755, dir: true},
		{path: "etc/passwd", mode: 0o644, contents: []byte(fmt.Sprintf(
			"root:x:0:0:root:/root:/sbin/nologin\n%s:x:%d:%d:%s:/home/%s:/sbin/nologin\n", userName, UID, UID, userName, userName))},
		{path: "etc/group", mode: 0o644, contents: []byte(fmt.Sprintf("root:x:0:\n%s:x:%d:\n", userName, UID))},
		{path: "home/", mode: 0o755, dir: true},
		{path: "home/" + userName + "/", mode: 0o700, uid: UID, dir: true},
		{path: "tmp/", mode: 0o1777, dir: true},
	}
	if len(caBundle) > 0 {
		files = append(files,
			file{path: "etc/ssl/", mode: 0o755, dir: true},
			file{path: "etc/ssl/certs/", mode: 0o755, dir: true},
			file{path: CABundlePath[1:], mode: 0o644, contents: caBundle})
	}
	return files
}

func appFiles(binary string, executable []byte) []file {
	return []file{
		{path: "usr/", mode: 0o755, dir: true},
		{path: "usr/local/", mode: 0o755, dir: true},
		{path: "usr/local/bin/", mode: 0o755, dir: true},
		{path: BinDir[1:] + "/" + binary, mode: 0o755, contents: executable},
	}
}

// layer is a gzipped tar of the files, every entry with the time created, so that the same
// files give the same digest.
func layer(files []file, created time.Time) (v1.Layer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		hdr := &tar.Header{
			Name: f.path, Mode: f.mode, Uid: f.uid, Gid: f.uid, ModTime: created,
			Typeflag: tar.TypeReg, Size: int64(len(f.contents)),
		}
		if f.dir {
			hdr.Typeflag, hdr.Size = tar.TypeDir, 0
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.contents); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil },
		tarball.WithMediaType(types.OCILayer), tarball.WithCompressionLevel(gzip.BestCompression))
}
