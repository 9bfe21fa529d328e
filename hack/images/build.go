package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Defaults of the flags.
const (
	// DefaultRepository is where the charts and `kubectl bindery bind` look for the images:
	// ghcr.io/bindery-dev/<binary>:<version>.
	DefaultRepository = "ghcr.io/bindery-dev"
	// DefaultSource is the label org.opencontainers.image.source.
	DefaultSource = "https://github.com/bindery-dev/bindery"
	// DefaultCABundle is Debian's (and most distributions') CA bundle.
	DefaultCABundle = "/etc/ssl/certs/ca-certificates.crt"
	// DefaultVersionVariable is what `<binary> version` prints.
	DefaultVersionVariable = "github.com/bindery-dev/bindery/pkg/version.Version"
)

// Annotations of the entries in a layout's index.json.
const (
	// AnnotationRefName is the tag, as the OCI image layout specification has it (skopeo's
	// oci:<dir>:<tag> finds it).
	AnnotationRefName = "org.opencontainers.image.ref.name"
	// AnnotationImageName is the full reference, which containerd's import names the image by.
	AnnotationImageName = "io.containerd.image.name"
)

type options struct {
	version, output, repository, source, revision string
	caBundle, moduleDir, versionVar               string
	platforms                                     []platform
	created                                       time.Time
}

type platform struct{ os, arch, variant string }

func (p platform) String() string {
	if p.variant != "" {
		return p.os + "/" + p.arch + "/" + p.variant
	}
	return p.os + "/" + p.arch
}

// reference is the image reference of a binary.
func (o options) reference(binary string) string {
	return o.repository + "/" + binary + ":" + o.version
}

// run builds each binary for each platform and writes its layout, printing a line per step.
func run(o options, binaries []string, out io.Writer) error {
	ca, err := o.readCABundle(out)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "bindery-images-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	for _, binary := range binaries {
		start := time.Now()
		var images []platformImage
		for _, p := range o.platforms {
			exe := filepath.Join(tmp, p.os+"-"+p.arch+p.variant, binary)
			fmt.Fprintf(out, ">>> go build ./cmd/%s (%s, version %s, CGO_ENABLED=0)\n", binary, p, o.version)
			if err := o.goBuild(binary, p, exe); err != nil {
				return err
			}
			data, err := os.ReadFile(exe)
			if err != nil {
				return err
			}
			img, err := Build(Spec{
				Binary: binary, Executable: data, Platform: p.v1(), Version: o.version,
				Source: o.source, Revision: o.revision, Created: o.created, CABundle: ca,
			})
			if err != nil {
				return fmt.Errorf("assembling the image of %s for %s: %w", binary, p, err)
			}
			images = append(images, platformImage{p, img})
		}
		dir := filepath.Join(o.output, binary)
		digest, size, err := writeLayout(dir, o.reference(binary), o.version, images)
		if err != nil {
			return fmt.Errorf("writing the OCI layout of %s to %s: %w", binary, dir, err)
		}
		fmt.Fprintf(out, "    image %s -> %s (%s, %.1f MB, %s)\n", o.reference(binary), dir, digest, float64(size)/1e6,
			time.Since(start).Round(100*time.Millisecond))
	}
	return nil
}

// readCABundle reads --ca-certificates. A missing default bundle leaves the images without
// one, with a warning; a missing bundle that was asked for is an error.
func (o options) readCABundle(out io.Writer) ([]byte, error) {
	if o.caBundle == "" {
		fmt.Fprintln(out, "    no CA bundle (--ca-certificates is empty): the images trust no public CA")
		return nil, nil
	}
	data, err := os.ReadFile(o.caBundle)
	if errors.Is(err, fs.ErrNotExist) && o.caBundle == DefaultCABundle {
		fmt.Fprintf(out, "    warning: no CA bundle at %s: the images trust no public CA (pass --ca-certificates FILE)\n", o.caBundle)
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("--ca-certificates: %w", err)
	}
	return data, nil
}

// goBuild builds ./cmd/<binary> of the module statically for the platform.
func (o options) goBuild(binary string, p platform, exe string) error {
	ldflags := "-s -w -X " + o.versionVar + "=" + o.version
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", ldflags, "-o", exe, "./cmd/"+binary)
	cmd.Dir = o.moduleDir
	env := append(os.Environ(), "CGO_ENABLED=0", "GOOS="+p.os, "GOARCH="+p.arch)
	switch {
	case p.variant != "" && p.arch == "arm":
		env = append(env, "GOARM="+p.variant[len("v"):])
	case p.variant != "" && p.arch == "amd64":
		env = append(env, "GOAMD64="+p.variant)
	}
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build ./cmd/%s for %s: %w", binary, p, err)
	}
	return nil
}

func (p platform) v1() v1.Platform {
	return v1.Platform{OS: p.os, Architecture: p.arch, Variant: p.variant}
}

type platformImage struct {
	platform platform
	image    v1.Image
}

// writeLayout replaces dir with an OCI layout holding one entry, tagged with ref: the image, or an
// index of the images when there are several platforms. It returns the entry's digest and the
// size of the layout's blobs.
func writeLayout(dir, ref, tag string, images []platformImage) (v1.Hash, int64, error) {
	if err := os.RemoveAll(dir); err != nil {
		return v1.Hash{}, 0, err
	}
	path, err := layout.Write(dir, empty.Index)
	if err != nil {
		return v1.Hash{}, 0, err
	}
	annotations := layout.WithAnnotations(map[string]string{AnnotationRefName: tag, AnnotationImageName: ref})
	var digest v1.Hash
	if len(images) == 1 {
		img := images[0]
		if err := path.AppendImage(img.image, annotations, layout.WithPlatform(img.platform.v1())); err != nil {
			return v1.Hash{}, 0, err
		}
		digest, err = img.image.Digest()
	} else {
		var index v1.ImageIndex = mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
		for _, img := range images {
			p := img.platform.v1()
			index = mutate.AppendManifests(index, mutate.IndexAddendum{Add: img.image, Descriptor: v1.Descriptor{Platform: &p}})
		}
		if err := path.AppendIndex(index, annotations); err != nil {
			return v1.Hash{}, 0, err
		}
		digest, err = index.Digest()
	}
	if err != nil {
		return v1.Hash{}, 0, err
	}
	var size int64
	err = filepath.WalkDir(filepath.Join(dir, "blobs"), func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err == nil {
			size += info.Size()
		}
		return err
	})
	return digest, size, err
}
