package images

import (
	"archive/tar"
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"sigs.k8s.io/yaml"

	"github.com/bindery-dev/bindery/pkg/kubectlbindery"
	"github.com/bindery-dev/bindery/test/servers"
)

// binaries are the processes that run in clusters, each with a chart of the same name.
var binaries = []string{"bindery-backend", "bindery-konnector", "bindery-syncagent", "bindery-manager"}

// TestImagesRunTheirBinary builds the four images as `make images` does, at the charts'
// appVersion, and for each: the layout has one entry tagged with the reference the chart installs
// by default; unpacked, the image's entrypoint is a statically linked binary that prints the
// version; it runs as the charts' user 65532, which /etc/passwd knows.
func TestImagesRunTheirBinary(t *testing.T) {
	root, err := servers.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	version := chartAppVersion(t, root, binaries[0])
	for _, b := range binaries[1:] {
		if v := chartAppVersion(t, root, b); v != version {
			t.Fatalf("chart %s has appVersion %s, chart %s %s: the images are built at one version", b, v, binaries[0], version)
		}
	}
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	args := append([]string{"run", "./hack/images", "--version", version, "--output", out, "--revision", "test"}, binaries...)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	start := time.Now()
	output, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, output)
	}
	t.Logf("built the images in %s:\n%s", time.Since(start).Round(time.Second), output)

	for _, binary := range binaries {
		t.Run(binary, func(t *testing.T) {
			ref := "ghcr.io/bindery-dev/" + binary + ":" + version
			if want := chartImage(t, root, binary); want != ref {
				t.Errorf("the chart installs %s, make images builds %s", want, ref)
			}
			img := readLayout(t, filepath.Join(out, binary), version, ref)
			cfg, err := img.ConfigFile()
			if err != nil {
				t.Fatal(err)
			}
			if cfg.OS != "linux" || cfg.Architecture != runtime.GOARCH {
				t.Errorf("platform %s/%s, want linux/%s", cfg.OS, cfg.Architecture, runtime.GOARCH)
			}
			if cfg.Config.User != "65532:65532" {
				t.Errorf("user %q, want 65532:65532 (the charts' runAsUser)", cfg.Config.User)
			}
			if got := cfg.Config.Labels["org.opencontainers.image.version"]; got != version {
				t.Errorf("version label %q, want %q", got, version)
			}
			if got := cfg.Config.Labels["org.opencontainers.image.source"]; got != "https://github.com/bindery-dev/bindery" {
				t.Errorf("source label %q", got)
			}
			if len(cfg.Config.Entrypoint) != 1 {
				t.Fatalf("entrypoint %q, want the binary alone", cfg.Config.Entrypoint)
			}

			rootfs := t.TempDir()
			unpack(t, img, rootfs)
			exe := filepath.Join(rootfs, cfg.Config.Entrypoint[0])
			checkStatic(t, exe)
			if passwd, err := os.ReadFile(filepath.Join(rootfs, "etc", "passwd")); err != nil || !bytes.Contains(passwd, []byte(":x:65532:65532:")) {
				t.Errorf("/etc/passwd %q, %v: want the user 65532", passwd, err)
			}
			got, err := exec.CommandContext(ctx, exe, "version").CombinedOutput()
			if err != nil || strings.TrimSpace(string(got)) != version {
				t.Errorf("%s version: %q, %v; want %q", cfg.Config.Entrypoint[0], got, err, version)
			}
			help, err := exec.CommandContext(ctx, exe, "--help").CombinedOutput()
			if err != nil || !strings.Contains(string(help), "Usage:\n  "+binary) {
				t.Errorf("%s --help is not %s's: %v\n%s", cfg.Config.Entrypoint[0], binary, err, help)
			}
		})
	}

	// kubectl bindery bind --konnector=install of a release installs the konnector of the same version.
	if got, err := kubectlbindery.DefaultKonnectorImage(version); err != nil || got != "ghcr.io/bindery-dev/bindery-konnector:"+version {
		t.Errorf("kubectl bindery bind installs %q (%v), make images builds ghcr.io/bindery-dev/bindery-konnector:%s", got, err, version)
	}
}

// readLayout returns the one image of an OCI layout, checking that its entry carries the tag and
// the reference.
func readLayout(t *testing.T, dir, tag, ref string) v1.Image {
	t.Helper()
	index, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatalf("reading the OCI layout %s: %v", dir, err)
	}
	m, err := index.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Manifests) != 1 {
		t.Fatalf("%s/index.json has %d entries, want 1", dir, len(m.Manifests))
	}
	desc := m.Manifests[0]
	if desc.Annotations["org.opencontainers.image.ref.name"] != tag || desc.Annotations["io.containerd.image.name"] != ref {
		t.Errorf("entry annotations %v, want ref.name %s and image.name %s", desc.Annotations, tag, ref)
	}
	img, err := index.Image(desc.Digest)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// unpack writes the image's file system, its layers applied in order, into dir.
func unpack(t *testing.T, img v1.Image, dir string) {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if !filepath.IsLocal(hdr.Name) {
			t.Fatalf("the image has an entry %q outside its root", hdr.Name)
		}
		path := filepath.Join(dir, hdr.Name)
		switch hdr.Typeflag {
		case tar.TypeDir:
			// Owner-writable whatever the image says, so that the test can fill and remove it.
			err = os.MkdirAll(path, os.FileMode(hdr.Mode).Perm()|0o700)
		case tar.TypeReg:
			err = writeFile(path, tr, os.FileMode(hdr.Mode).Perm())
		default:
			err = fmt.Errorf("unexpected entry type %c", hdr.Typeflag)
		}
		if err != nil {
			t.Fatalf("unpacking %s: %v", hdr.Name, err)
		}
	}
}

func writeFile(path string, r io.Reader, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, r)
	if closeErr := f.Close(); err == nil {
		err = closeErr
	}
	return err
}

// checkStatic fails the test unless exe is an ELF executable that needs no dynamic loader and no
// shared library: the image has none.
func checkStatic(t *testing.T, exe string) {
	t.Helper()
	f, err := elf.Open(exe)
	if err != nil {
		t.Fatalf("%s: %v", exe, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("%s asks for a dynamic loader: built with cgo?", exe)
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("%s needs shared libraries %v", exe, libs)
	}
}

// chartAppVersion reads a chart's appVersion, its default image tag.
func chartAppVersion(t *testing.T, root, chart string) string {
	t.Helper()
	var c struct {
		AppVersion string `json:"appVersion"`
	}
	readYAML(t, filepath.Join(root, "deploy", "charts", chart, "Chart.yaml"), &c)
	return c.AppVersion
}

// chartImage is the image a chart installs with its default values.
func chartImage(t *testing.T, root, chart string) string {
	t.Helper()
	var v struct {
		Image struct {
			Repository string `json:"repository"`
			Tag        string `json:"tag"`
		} `json:"image"`
	}
	readYAML(t, filepath.Join(root, "deploy", "charts", chart, "values.yaml"), &v)
	tag := v.Image.Tag
	if tag == "" {
		tag = chartAppVersion(t, root, chart)
	}
	return v.Image.Repository + ":" + tag
}

func readYAML(t *testing.T, file string, into any) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, into); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
}
