// Command images builds OCI images of bindery's binaries without a container engine, behind
// `make images`. For each binary named on the command line it runs `go build ./cmd/<binary>`
// statically (CGO_ENABLED=0, -trimpath, the version stamped into pkg/version) for each platform,
// puts the executable on a minimal base (an /etc/passwd with the unprivileged user nonroot, uid
// and gid 65532, a CA bundle, a writable /tmp) with go-containerregistry, and writes the image as
// an OCI image layout in <output>/<binary>/: one entry in its index.json, annotated with the tag
// (org.opencontainers.image.ref.name) and the full reference (io.containerd.image.name)
// <repository>/<binary>:<version>. The image runs as 65532:65532, its entrypoint is the binary
// (/usr/local/bin/<binary>), and its labels carry the version, revision and source. With more than
// one platform the entry is an image index with one image per platform.
//
//	go run ./hack/images --version v0.1.0 [--output bin/images] [--repository ghcr.io/bindery-dev]
//	    [--platform linux/amd64,linux/arm64] [--revision <commit>] bindery-backend bindery-konnector ...
//
// The same inputs give the same image digests: file times and the image's creation time are
// --created (default $SOURCE_DATE_EPOCH, else the Unix epoch). Push or copy a layout with crane
// (`crane push bin/images/<binary> <reference>`) or skopeo (`skopeo copy oci:bin/images/<binary>
// docker://<reference>`); docs/development.md says more.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

func main() {
	opts, binaries, err := parseFlags(os.Args[1:])
	if err == nil {
		err = run(opts, binaries, os.Stdout)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "images:", err)
		os.Exit(1)
	}
}

func parseFlags(args []string) (options, []string, error) {
	fs := flag.NewFlagSet("images", flag.ContinueOnError)
	o := options{}
	var platforms, created string
	fs.StringVar(&o.version, "version", "", "the version: the image tag, the label org.opencontainers.image.version and what `<binary> version` prints (required)")
	fs.StringVar(&o.output, "output", "bin/images", "folder of the OCI layouts, one per binary")
	fs.StringVar(&o.repository, "repository", DefaultRepository, "repository prefix of the image references: <repository>/<binary>:<version>")
	fs.StringVar(&platforms, "platform", "linux/"+runtime.GOARCH, "platforms to build, comma-separated os/arch[/variant]")
	fs.StringVar(&o.source, "source", DefaultSource, "the label org.opencontainers.image.source")
	fs.StringVar(&o.revision, "revision", "", "the label org.opencontainers.image.revision, e.g. the commit")
	fs.StringVar(&created, "created", "", "creation time of the images and their files, RFC 3339 or Unix seconds (default $SOURCE_DATE_EPOCH, else 1970-01-01)")
	fs.StringVar(&o.caBundle, "ca-certificates", DefaultCABundle, "CA bundle copied to /etc/ssl/certs/ca-certificates.crt in the images; empty for none")
	fs.StringVar(&o.moduleDir, "module", ".", "root of the Go module whose ./cmd/<binary> are built")
	fs.StringVar(&o.versionVar, "version-variable", DefaultVersionVariable, "the package variable that go build -X sets to --version")
	if err := fs.Parse(args); err != nil {
		return o, nil, err
	}
	if o.version == "" {
		return o, nil, fmt.Errorf("--version is required")
	}
	if !validTag(o.version) {
		return o, nil, fmt.Errorf("--version %q is not an image tag (letters, digits, '_', '.', '-'; at most 128, not starting with '.' or '-')", o.version)
	}
	var err error
	if o.platforms, err = parsePlatforms(platforms); err != nil {
		return o, nil, err
	}
	if created == "" {
		created = os.Getenv("SOURCE_DATE_EPOCH")
	}
	if o.created, err = parseTime(created); err != nil {
		return o, nil, fmt.Errorf("--created %q: %w", created, err)
	}
	if fs.NArg() == 0 {
		return o, nil, fmt.Errorf("name the binaries to build, e.g. bindery-konnector")
	}
	return o, fs.Args(), nil
}

// validTag says whether s may be an image tag: [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}.
func validTag(s string) bool {
	if len(s) == 0 || len(s) > 128 || s[0] == '.' || s[0] == '-' {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

func parsePlatforms(s string) ([]platform, error) {
	var out []platform
	for _, p := range strings.Split(s, ",") {
		parts := strings.Split(strings.TrimSpace(p), "/")
		if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" {
			return nil, fmt.Errorf("--platform %q: want os/arch[/variant], e.g. linux/amd64", p)
		}
		pl := platform{os: parts[0], arch: parts[1]}
		if len(parts) == 3 {
			pl.variant = parts[2]
		}
		out = append(out, pl)
	}
	return out, nil
}

// parseTime reads Unix seconds or RFC 3339; empty is the Unix epoch.
func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Unix(0, 0).UTC(), nil
	}
	if secs, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(secs, 0).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("want RFC 3339 or Unix seconds")
	}
	return t.UTC(), nil
}
