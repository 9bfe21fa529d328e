package main

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

func spec() Spec {
	return Spec{
		Binary: "bindery-konnector", Executable: []byte("\x7fELF not really"),
		Platform: v1.Platform{OS: "linux", Architecture: "arm64"},
		Version:  "v1.2.3", Source: DefaultSource, Revision: "0123abc",
		Created:  time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC),
		CABundle: []byte("-----BEGIN CERTIFICATE-----\n"),
	}
}

// entry is a file of an image's flattened file system.
type entry struct {
	hdr      *tar.Header
	contents string
}

// files flattens the image's layers as a container runtime would and returns its files by path.
func files(t *testing.T, img v1.Image) map[string]entry {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	out := map[string]entry{}
	tr := tar.NewReader(rc)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out["/"+strings.TrimSuffix(hdr.Name, "/")] = entry{hdr, string(data)}
	}
}

func TestImageRunsTheBinaryAsNonroot(t *testing.T) {
	s := spec()
	img, err := Build(s)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.OS != "linux" || cfg.Architecture != "arm64" {
		t.Errorf("platform %s/%s, want linux/arm64", cfg.OS, cfg.Architecture)
	}
	if got := cfg.Config.Entrypoint; !slices.Equal(got, []string{"/usr/local/bin/bindery-konnector"}) {
		t.Errorf("entrypoint %q, want the binary", got)
	}
	if cfg.Config.User != "65532:65532" || len(cfg.Config.Cmd) != 0 {
		t.Errorf("user %q, cmd %q: want 65532:65532 and no cmd", cfg.Config.User, cfg.Config.Cmd)
	}
	for k, want := range map[string]string{
		"org.opencontainers.image.version":  "v1.2.3",
		"org.opencontainers.image.source":   "https://github.com/bindery-dev/bindery",
		"org.opencontainers.image.revision": "0123abc",
		"org.opencontainers.image.title":    "bindery-konnector",
		"org.opencontainers.image.created":  "2025-01-02T03:04:05Z",
	} {
		if got := cfg.Config.Labels[k]; got != want {
			t.Errorf("label %s=%q, want %q", k, got, want)
		}
	}
	if !cfg.Created.Equal(s.Created) {
		t.Errorf("created %s, want %s", cfg.Created, s.Created)
	}
	if mt, _ := img.MediaType(); mt != types.OCIManifestSchema1 {
		t.Errorf("manifest media type %s, want OCI", mt)
	}

	fs := files(t, img)
	exe := fs["/usr/local/bin/bindery-konnector"]
	if exe.hdr == nil || exe.contents != string(s.Executable) || exe.hdr.Mode != 0o755 || exe.hdr.Uid != 0 {
		t.Errorf("the executable: %+v, want the binary, mode 0755, owned by root (not writable by the user)", exe.hdr)
	}
	if passwd := fs["/etc/passwd"].contents; !strings.Contains(passwd, "nonroot:x:65532:65532:") {
		t.Errorf("/etc/passwd %q has no nonroot user 65532", passwd)
	}
	if group := fs["/etc/group"].contents; !strings.Contains(group, "nonroot:x:65532:") {
		t.Errorf("/etc/group %q has no group 65532", group)
	}
	if tmp := fs["/tmp"].hdr; tmp == nil || tmp.Typeflag != tar.TypeDir || tmp.Mode != 0o1777 {
		t.Errorf("/tmp %+v, want a sticky world-writable directory", tmp)
	}
	if home := fs["/home/nonroot"].hdr; home == nil || home.Uid != UID {
		t.Errorf("/home/nonroot %+v, want owned by %d", home, UID)
	}
	if ca := fs[CABundlePath].contents; ca != string(s.CABundle) {
		t.Errorf("%s = %q, want the bundle", CABundlePath, ca)
	}
	for path, e := range fs {
		if !e.hdr.ModTime.Equal(s.Created) {
			t.Errorf("%s has time %s, want the creation time %s", path, e.hdr.ModTime, s.Created)
		}
	}
}

func TestSameInputsSameDigest(t *testing.T) {
	digest := func(s Spec) v1.Hash {
		img, err := Build(s)
		if err != nil {
			t.Fatal(err)
		}
		d, err := img.Digest()
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	a, b := digest(spec()), digest(spec())
	if a != b {
		t.Errorf("two builds of the same inputs: %s and %s", a, b)
	}
	other := spec()
	other.Version = "v1.2.4"
	if digest(other) == a {
		t.Errorf("another version gives the same digest %s", a)
	}
}

func TestBaseLayerIsSharedAcrossBinaries(t *testing.T) {
	first := func(s Spec) v1.Hash {
		img, err := Build(s)
		if err != nil {
			t.Fatal(err)
		}
		layers, err := img.Layers()
		if err != nil || len(layers) != 2 {
			t.Fatalf("layers %d, %v: want base and binary", len(layers), err)
		}
		d, err := layers[0].Digest()
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	other := spec()
	other.Binary, other.Executable = "bindery-backend", []byte("another program")
	if a, b := first(spec()), first(other); a != b {
		t.Errorf("base layers %s and %s differ: registries would store the base once per binary", a, b)
	}
}

func TestLayoutHoldsOneTaggedEntry(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "bindery-konnector")
	img, err := Build(spec())
	if err != nil {
		t.Fatal(err)
	}
	arm := platformImage{platform{"linux", "arm64", ""}, img}
	ref := "ghcr.io/bindery-dev/bindery-konnector:v1.2.3"
	// A layout that is there already is replaced, not appended to.
	for range 2 {
		if _, _, err := writeLayout(dir, ref, "v1.2.3", []platformImage{arm}); err != nil {
			t.Fatal(err)
		}
	}
	index, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	m, err := index.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Manifests) != 1 {
		t.Fatalf("index.json has %d entries, want 1 (crane push needs exactly one)", len(m.Manifests))
	}
	want := map[string]string{AnnotationRefName: "v1.2.3", AnnotationImageName: ref}
	if d := m.Manifests[0]; !maps.Equal(d.Annotations, want) || d.Platform == nil || d.Platform.Architecture != "arm64" {
		t.Errorf("entry %+v, want annotations %v and platform linux/arm64", d, want)
	}

	// Two platforms: one entry, an index of both images.
	amd := spec()
	amd.Platform.Architecture = "amd64"
	amdImg, err := Build(amd)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := writeLayout(dir, ref, "v1.2.3", []platformImage{arm, {platform{"linux", "amd64", ""}, amdImg}}); err != nil {
		t.Fatal(err)
	}
	index, err = layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	if m, err = index.IndexManifest(); err != nil || len(m.Manifests) != 1 || !m.Manifests[0].MediaType.IsIndex() {
		t.Fatalf("index.json %+v, %v: want one entry, an image index", m, err)
	}
	inner, err := index.ImageIndex(m.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	im, err := inner.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var archs []string
	for _, d := range im.Manifests {
		archs = append(archs, d.Platform.Architecture)
	}
	if !slices.Equal(archs, []string{"arm64", "amd64"}) {
		t.Errorf("platforms %v, want arm64 and amd64", archs)
	}
}

func TestFlags(t *testing.T) {
	o, binaries, err := parseFlags([]string{"--version", "v0.1.0", "--platform", "linux/amd64,linux/arm/v7", "--created", "1700000000", "a", "b"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(binaries, []string{"a", "b"}) || len(o.platforms) != 2 || o.platforms[1] != (platform{"linux", "arm", "v7"}) ||
		!o.created.Equal(time.Unix(1700000000, 0)) || o.reference("a") != "ghcr.io/bindery-dev/a:v0.1.0" {
		t.Errorf("parsed %+v %v", o, binaries)
	}
	t.Setenv("SOURCE_DATE_EPOCH", "")
	if o, _, err := parseFlags([]string{"--version", "v0.1.0", "a"}); err != nil || !o.created.Equal(time.Unix(0, 0)) {
		t.Errorf("default creation time %s, %v: want the Unix epoch", o.created, err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"a"}, "--version is required"},
		{[]string{"--version", "v1+dirty", "a"}, "not an image tag"},
		{[]string{"--version", "v1"}, "name the binaries"},
		{[]string{"--version", "v1", "--platform", "linux", "a"}, "want os/arch"},
		{[]string{"--version", "v1", "--created", "yesterday", "a"}, "RFC 3339"},
	} {
		if _, _, err := parseFlags(tc.args); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want %q", tc.args, err, tc.want)
		}
	}
}

func TestMissingDefaultCABundleIsAWarning(t *testing.T) {
	var out bytes.Buffer
	missing := filepath.Join(t.TempDir(), "ca.crt")
	if _, err := (options{caBundle: missing}).readCABundle(&out); err == nil {
		t.Errorf("a missing --ca-certificates that was asked for is no error")
	}
	if _, err := os.Stat(DefaultCABundle); err == nil {
		t.Skipf("%s exists here", DefaultCABundle)
	}
	if ca, err := (options{caBundle: DefaultCABundle}).readCABundle(&out); err != nil || ca != nil || !strings.Contains(out.String(), "warning") {
		t.Errorf("missing default bundle: %q, %v, output %q: want a warning", ca, err, out.String())
	}
}
